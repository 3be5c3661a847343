import type { OutboxLimits } from '../core/delivery.js';
import { SupervisorError } from '../core/errors.js';
import { isId, randomId } from '../core/ids.js';
import { sendableSize } from '../core/sendable.js';
import type { ClusterChannel } from './clusterSupervisor.js';
import type { NodeContext } from './nodeState.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { Deletion } from './redis/records.js';
import type { EmitResult } from './redis/results.js';
import { isUnavailable, retry } from './redis/retry.js';

/**
 * `to(clientId).emit()` from any node: one `emit` script queues the message in the client's
 * outbox in Redis, retried with the same emit id while Redis does not answer (queued at most
 * once). The client's owner sends it: this node from the script's reply, another by a `message`
 * notice (the owner streams).
 */
export function createToClient<TData>(
  node: NodeContext<TData>,
  parts: {
    streams: OwnerStreams<TData>;
    limits: OutboxLimits;
    /** Runs a deletion Redis assigned to this node (an outbox that overflowed on its emit). */
    /** Runs a deletion Redis assigned to this node, unless it lost its incarnation `since` (an epoch) then. */
    runDeletion(deletion: Deletion<TData>, since?: number): void;
    /** Asks Redis whether this incarnation is still alive (after a `node-fenced` answer). */
    checkFenced(): void;
  },
): (clientId: string) => ClusterChannel {
  const { store, state } = node;
  const { streams, limits } = parts;

  function queue(clientId: string, payload: string): Promise<EmitResult<TData>> {
    // one id for every attempt: a retry of an attempt that ran is queued once
    const emitId = randomId();
    return retry(() => store.emit({ clientId, emitId, payload, ...limits }), {
      attempts: 3,
      first: 200,
      max: 400,
      while: () => !state.closing,
    }).catch((error: unknown) => {
      if (!isUnavailable(error)) throw error;
      throw new SupervisorError(
        'UNAVAILABLE',
        `to(${clientId}).emit(): the cluster store (Redis) is unreachable; the message is not confirmed (if an attempt reached Redis it is queued, once, and will be delivered)`,
        { cause: error },
      );
    });
  }

  async function emit(clientId: string, event: string, args: unknown[]): Promise<boolean> {
    if (typeof event !== 'string' || event.length === 0 || event.length > 256) {
      throw new SupervisorError(
        'INVALID_ARGUMENT',
        'to(clientId).emit(): the event name must be a string of 1 to 256 characters',
      );
    }
    try {
      sendableSize(args, { binary: false });
    } catch (error) {
      throw new SupervisorError(
        'INVALID_ARGUMENT',
        `to(${clientId}).emit(${JSON.stringify(event)}): ${(error as Error).message}`,
      );
    }
    if (!isId(clientId)) {
      streams.undelivered(String(clientId), 1, 'unknown-client');
      return false;
    }
    if (state.closing) throw new SupervisorError('CLOSED', 'to(clientId).emit(): the supervisor is closed');
    if (!state.ready) {
      throw new SupervisorError(
        'UNAVAILABLE',
        `to(${clientId}).emit(): the cluster store (Redis) is unreachable; retry in a moment`,
      );
    }
    const since = state.lossEpoch;
    const result = await queue(clientId, JSON.stringify([event, ...args]));
    switch (result.outcome) {
      case 'queued':
      case 'replay':
        streams.countSent();
        if (result.deliver) streams.receive(clientId, result.deliver.member);
        return true;
      case 'overflow':
        parts.runDeletion(result.deletion, since);
        return false;
      case 'node-fenced':
        parts.checkFenced();
        throw new SupervisorError(
          'UNAVAILABLE',
          `to(${clientId}).emit(): this node is rejoining the cluster; retry in a moment`,
        );
      default:
        streams.undelivered(clientId, 1, result.outcome);
        return false;
    }
  }

  return function to(clientId: string): ClusterChannel {
    return { emit: (event, ...args) => emit(clientId, event, args) };
  };
}
