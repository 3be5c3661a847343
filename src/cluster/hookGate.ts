import type { LifecycleEvent, OwnershipContext, SupervisorHooks } from '../core/types.js';
import type { ClusterHookContext, ClusterHooks } from './clusterHooks.js';
import type { ClusterRecord, DeletionTicket } from './localStore.js';
import type { NodeState } from './nodeState.js';

/** A hook's third argument as the node keeps it: what the user sees, and what decides whether it may still run. */
interface HookTicket {
  record: ClusterRecord<unknown>;
  lossEpoch: number;
  fence: number;
  deletion: DeletionTicket | null;
  /**
   * `onConnect` only: the socket whose claim made it due in Redis (its `hookDue` mark), cleared
   * once the hook has run here.
   */
  dueSocketId: string | null;
}

/**
 * The hooks of a node, gated: each transition's hooks get a ticket when the transition is
 * committed (the core passes it as the hooks' third argument), and a hook runs only if its ticket
 * still holds when its turn comes, with `{ fence, deletionId?, redelivered? }` in its place.
 */
export function createHookGate(
  state: NodeState,
  options: {
    nodeId: string;
    /** `onConnect` ran here for the connect of `socketId`: its due mark in Redis can be cleared. */
    connectRan(clientId: string, socketId: string): void;
  },
) {
  /** The ticket of a transition's hooks (the local store's `hookContext`). */
  function ticketOf<TData>(record: ClusterRecord<TData>, event: LifecycleEvent): HookTicket {
    return {
      record: record as ClusterRecord<unknown>,
      lossEpoch: state.lossEpoch,
      fence: record.cluster.fence,
      deletion: event.type === 'deleted' ? record.cluster.deletion : null,
      dueSocketId: event.type === 'connected' || event.type === 'reconnected' ? event.socketId : null,
    };
  }

  /** The ticket of an `onConnect` Redis handed to this node (its claim was lost on another one). */
  function dueTicket<TData>(record: ClusterRecord<TData>, socketId: string): HookTicket {
    return {
      record: record as ClusterRecord<unknown>,
      lossEpoch: state.lossEpoch,
      fence: record.cluster.fence,
      deletion: null,
      dueSocketId: socketId,
    };
  }

  /** The ownership hooks' context: this node and the fence its ownership began at. */
  function ownershipContext(ticket: unknown): OwnershipContext {
    const fence = (ticket as HookTicket | undefined)?.fence;
    return { nodeId: options.nodeId, fence: typeof fence === 'number' ? fence : null };
  }

  /** Clears the due mark once `onConnect` settled (failed hooks too: they were reported, and ran). */
  function afterConnect(ticket: HookTicket, result: unknown): unknown {
    const socketId = ticket.dueSocketId;
    if (socketId === null) return result;
    const clientId = ticket.record.clientId;
    const done = () => options.connectRan(clientId, socketId);
    Promise.resolve(result).then(done, done);
    return result;
  }

  /**
   * Whether a queued hook may still run: not if this node was fenced since (its clients were
   * released; a deletion is redelivered elsewhere), nor if the client was deleted by another node
   * (its onDelete, there, must be the last hook).
   */
  function allows(ticket: unknown): ticket is HookTicket {
    const t = ticket as HookTicket | undefined;
    return t !== undefined && t.lossEpoch === state.lossEpoch && t.record.cluster.lost !== 'deleted';
  }

  function publicContext(ticket: HookTicket): ClusterHookContext {
    const { deletion } = ticket;
    if (deletion === null) return { fence: ticket.fence };
    return { fence: deletion.fence, deletionId: deletion.deletionId, redelivered: deletion.redelivered };
  }

  /** The user's hooks as the core calls them: with `{ fence, deletionId?, redelivered? }`, unless the node lost the client since. */
  function wrap<TData>(hooks: ClusterHooks<TData>): SupervisorHooks<TData> {
    const wrapped: SupervisorHooks<TData> = {};
    const { onConnect, onDisconnect, onDelete, onAcquire, onRelease } = hooks;
    // the ownership hooks are per node, never gated: each onAcquire must meet its onRelease
    if (onAcquire) wrapped.onAcquire = onAcquire;
    if (onRelease) wrapped.onRelease = onRelease;
    type Third = [ticket?: unknown];
    if (onConnect) {
      wrapped.onConnect = (client, ctx, ...[ticket]: Third) => {
        if (!allows(ticket)) return undefined;
        let result: unknown;
        try {
          result = onConnect(client, ctx, publicContext(ticket));
        } catch (error) {
          afterConnect(ticket, undefined);
          throw error;
        }
        return afterConnect(ticket, result);
      };
    }
    if (onDisconnect) {
      wrapped.onDisconnect = (client, reason, ...[ticket]: Third) =>
        allows(ticket) ? onDisconnect(client, reason, publicContext(ticket)) : undefined;
    }
    if (onDelete) {
      wrapped.onDelete = (client, reason, ...[ticket]: Third) =>
        allows(ticket) ? onDelete(client, reason, publicContext(ticket)) : undefined;
    }
    return wrapped;
  }

  return { ticketOf, dueTicket, ownershipContext, wrap };
}

/** A node's hook gate. */
export type HookGate = ReturnType<typeof createHookGate>;
