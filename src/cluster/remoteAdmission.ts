import { SupervisorError } from '../core/errors.js';
import { hashToken } from '../core/ids.js';
import type { RemoteAdmissionRequest, RemoteVerdict } from '../core/internals.js';
import type { Registration } from '../core/supervisor.js';
import { snapshotFields } from '../machines/clientSnapshot.js';
import { type ClusterRecord, recordFrom } from './localStore.js';
import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import type { ClaimResult, DueConnect } from './redis/results.js';
import { isUnavailable, retry } from './redis/retry.js';

const UNAVAILABLE_MESSAGE = 'the cluster store (Redis) is unreachable; retry in a moment';
const SHUTTING_DOWN_MESSAGE = 'this server is leaving the cluster; reconnect in a moment';
const RECOVERING_MESSAGE = 'the cluster store (Redis) is recovering older data; retry in a moment';

/**
 * The node's handshake (the core's `admitRemote` seam): the socket's claim is decided in Redis in
 * one round-trip (two for a client autoRegister makes), then the mirror holds the client as it was
 * before the claim, expecting the claim's transition, which the client's machine then decides on
 * this node when the socket connects (its commit is then free: Redis has it).
 */
export function createRemoteAdmission<TData>(
  node: NodeContext<TData>,
  parts: {
    mirror: Mirror<TData>;
    /** Registers a client for autoRegister (held here, `registered` on events$). */
    register(tabId: string | null): Promise<Registration>;
    /** Asks Redis whether this incarnation is still alive (after a `node-fenced` answer). */
    checkFenced(): void;
    /** A claim of this client was mirrored: a notice that arrived before its reply applies now. */
    applyPendingNotice(clientId: string): void;
    /** Runs an `onConnect` Redis handed to this node with the claim (its owner died before running it). */
    runDueConnect?(record: ClusterRecord<TData>, due: DueConnect): void;
  },
) {
  const { store, local, state } = node;
  const { mirror } = parts;

  /** Makes the mirror hold the client as it was before the claim, expecting the claim's transition. */
  function mirrorClaim(
    result: Extract<ClaimResult<TData>, { client: unknown }>,
    token: string,
    socketId: string,
  ): ClusterRecord<TData> {
    const { previous, client } = result;
    let record = local.get(client.clientId);
    if (record && record.state !== 'deleted') {
      const part = record.cluster;
      const last = part.expected.at(-1) ?? record;
      const agrees = last.state === previous.state && last.socketId === previous.socketId;
      if (!mirror.ownedHere(previous)) {
        // held from an earlier ownership this node missed the end of: start afresh
        mirror.lose(record, 'replaced');
        record = undefined;
      } else if (!agrees) {
        mirror.stopActor(record);
        part.expected = [];
        local.overwrite(record, snapshotFields(previous));
      }
    } else {
      record = undefined;
    }
    if (record === undefined) {
      record = recordFrom(previous, token, hashToken(token));
      local.add(record);
    }
    record.cluster.fence = client.fence;
    record.data = client.data;
    record.cluster.lost = null;
    // what waits in the outbox for the new socket (sent when the machine connects it here)
    record.cluster.outbox = result.outbox;
    record.cluster.expected.push({ state: 'connected', socketId });
    const clientId = client.clientId;
    // after the socket's `connection` (socket.io emits it on the next tick): a notice that
    // arrived before this claim's reply is applied now
    const { due } = result;
    setImmediate(() => {
      parts.applyPendingNotice(clientId);
      if (due !== null) parts.runDueConnect?.(record, due);
    });
    return record;
  }

  /** The socket of a claim never connected: undo the claim in Redis (the client disconnects, with its grace period). */
  function releaseClaim(clientId: string, socketId: string, fence: number): void {
    const record = local.get(clientId);
    if (record) record.cluster.expected = record.cluster.expected.filter((e) => e.socketId !== socketId);
    const epoch = state.lossEpoch;
    retry(() => store.disconnect({ clientId, socketId, fence }), { while: () => epoch === state.lossEpoch }).then(
      (result) => {
        const current = local.get(clientId);
        if (!current || current.state === 'deleted') return;
        // Redis went back to an older copy: a heartbeat finds the rollback, the restore writes this node's back
        if ('client' in result && mirror.isBehind(current, result.client)) parts.checkFenced();
        else if ('client' in result) mirror.resync(current, result.client);
        else if (result.outcome === 'already-deleted' || result.outcome === 'unknown-client') {
          mirror.lose(current, 'deleted');
        }
      },
      (error) => node.logger.debug({ err: error, clientId }, 'socket.io-supervisor/cluster: could not release a claim'),
    );
  }

  function refuse(code: 'UNAVAILABLE' | 'SHUTTING_DOWN', clientId: string | null): RemoteVerdict {
    return { ok: false, clientId, code, message: code === 'UNAVAILABLE' ? UNAVAILABLE_MESSAGE : SHUTTING_DOWN_MESSAGE };
  }

  return async function admitRemote(request: RemoteAdmissionRequest): Promise<RemoteVerdict> {
    if (state.closing) return refuse('SHUTTING_DOWN', request.clientId);
    if (!state.ready) return refuse('UNAVAILABLE', request.clientId);
    const epoch = state.lossEpoch;
    let { clientId, token } = request;
    let issued: Registration | null = null;
    if (clientId === null || token === null) {
      try {
        issued = await parts.register(request.tabId);
      } catch (error) {
        if (isUnavailable(error)) return refuse('UNAVAILABLE', null);
        if (error instanceof SupervisorError && error.code === 'CLOSED') return refuse('SHUTTING_DOWN', null);
        throw error;
      }
      ({ clientId, token } = issued);
    }
    let result: ClaimResult<TData>;
    try {
      if (store.unansweredClaims > 0) await store.releaseUnansweredOf(clientId);
      result = await store.claim({ clientId, token, socketId: request.socketId, tabId: request.tabId });
    } catch (error) {
      if (isUnavailable(error)) return refuse('UNAVAILABLE', clientId);
      throw error;
    }
    // what changed during the round-trip: leaving (leave() releases what this claim took) or
    // fenced (the reaper releases it)
    if (state.closing) return refuse('SHUTTING_DOWN', clientId);
    if (epoch !== state.lossEpoch) return refuse('UNAVAILABLE', clientId);
    if (result.outcome === 'node-fenced') {
      parts.checkFenced();
      return refuse('UNAVAILABLE', clientId);
    }
    // a recovery after a rollback waits for every live node's write-back: the client retries
    if (result.outcome === 'recovering') {
      return { ok: false, clientId, code: 'UNAVAILABLE', message: RECOVERING_MESSAGE };
    }
    if (result.outcome === 'rejected') {
      const message =
        result.code === 'CLIENT_DELETED'
          ? `client ${clientId} was deleted; reload the page to get a new one`
          : result.code === 'UNKNOWN_CLIENT'
            ? `no client ${clientId} in the cluster; register a new one`
            : `the token presented for client ${clientId} is not the one it was issued`;
      return { ok: false, clientId, code: result.code, message };
    }
    const fence = result.client.fence;
    const id = clientId;
    // Redis went back to older data and no heartbeat has found it yet: the claim's reply carried a
    // write counter not above one seen before (store.behind), or this node ran the client's
    // deletion within tombstoneTtl and yet Redis let it be claimed. The page is refused (it
    // retries; once the nodes have written back, a deleted client gets CLIENT_DELETED), a
    // heartbeat is asked for at once, and the claim is undone: no onConnect after its onDelete
    if (store.behind || local.status(clientId, node.now()) === 'deleted') {
      releaseClaim(id, request.socketId, fence);
      parts.checkFenced();
      return { ok: false, clientId, code: 'UNAVAILABLE', message: RECOVERING_MESSAGE };
    }
    mirrorClaim(result, token, request.socketId);
    return { ok: true, clientId, issued, release: () => releaseClaim(id, request.socketId, fence) };
  };
}
