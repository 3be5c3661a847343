import { compactSnapshot } from '../machines/clientSnapshot.js';
import type { ClientRecord, ClientStore, Commit } from '../store/clientStore.js';
import type { ClientView, LifecycleEvent } from './types.js';

/** What the relay needs from the supervisor runtime. */
export interface RelayTarget<TData> {
  store: ClientStore<TData>;
  /** Arms the one host timer if a deadline became the earliest. */
  armTimer(): void;
  /** The client's actor did something: reset its idle time (passivation). */
  touch(record: ClientRecord<TData>): void;
  /** Closes a socket from the server side (socket.io adapter), telling the browser why. */
  disconnectSocket(socketId: string, why: 'replaced' | 'deleted', reason?: string): void;
  /**
   * Queues the user's hooks for this event, given the client's view at this instant, after
   * `committed`; `context` (the store's {@link ClientStore.hookContext}) is their third argument.
   */
  runHooks(event: LifecycleEvent, view: ClientView<TData>, committed: Commit, context: unknown): void;
  /** Which event types have a hook (and so need a view). */
  wantsView: ReadonlySet<LifecycleEvent['type']>;
  /** Hands the event to `events$` (and counts it). */
  publish(event: LifecycleEvent): void;
  /** The client has a new socket: its unacknowledged messages go out on it, before anything newer. */
  flushOutbox(record: ClientRecord<TData>): void;
  /** The client is gone: its unacknowledged messages are undelivered (reported after `deleted`). */
  dropOutbox(clientId: string, reason: string): void;
  toView(record: ClientRecord<TData>): ClientView<TData>;
}

/**
 * The listener on every client actor's emitted events. The client machine has already decided
 * (emitted events are delivered after its snapshot is updated); this commits that decision to
 * the store (the record's snapshot fields, the counts, the deadline index) and then, in order:
 * the socket bridge, the hooks (after the commit), `events$`.
 *
 * It runs inline rather than as another supervisor event: a round trip through the supervisor's
 * mailbox for each of these cost a whole macrostep per lifecycle event. Forgetting a deleted
 * client stays the supervisor machine's decision, taken on XState's own `xstate.done.actor.*`.
 */
export function createLifecycleRelay<TData>(target: RelayTarget<TData>) {
  const { store } = target;
  return function relayClientEvent(record: ClientRecord<TData>, event: LifecycleEvent): void {
    let committed: Commit;
    switch (event.type) {
      case 'ignored':
        target.touch(record);
        break;
      case 'deleted':
        committed = store.commit(record, null);
        target.touch(record);
        target.armTimer();
        if (event.socketId !== null) target.disconnectSocket(event.socketId, 'deleted', event.reason);
        break;
      case 'socket-replaced':
        committed = store.commit(record, compactSnapshot(record.actor!.getSnapshot()));
        target.touch(record);
        target.disconnectSocket(event.previousSocketId, 'replaced');
        target.flushOutbox(record);
        break;
      default:
        // registered, connected, reconnected, disconnected: the deadline changed
        committed = store.commit(record, compactSnapshot(record.actor!.getSnapshot()));
        target.touch(record);
        target.armTimer();
        if (event.type === 'connected' || event.type === 'reconnected') target.flushOutbox(record);
    }
    if (target.wantsView.has(event.type)) {
      target.runHooks(event, target.toView(record), committed, store.hookContext?.(record, event));
    }
    target.publish(event);
    if (event.type === 'deleted') target.dropOutbox(event.clientId, event.reason);
  };
}
