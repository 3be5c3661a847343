import type { Commit } from '../store/clientStore.js';
import type { HookRunner } from './hookRunner.js';
import type { ClientView, LifecycleEvent, OwnershipContext, ReleaseWhy, SupervisorHooks } from './types.js';

/** A single node's ownership context: no node id, no fence. */
const SINGLE_NODE: OwnershipContext = Object.freeze({ nodeId: null, fence: null });

/** A hook called with the store's hook context as a third argument (cluster mode). */
type ThreeArgs = (client: unknown, second: unknown, context: unknown) => unknown;

/**
 * Turns the lifecycle events that have a hook into the user's hook calls, queued per client on
 * the hook runner after the transition's commit. `wantsView`: the event types that have a hook
 * (only those need the client's view built).
 */
export function createHookDispatch<TData>(
  hooks: SupervisorHooks<TData>,
  hookRunner: HookRunner,
  resolveSocket: (socketId: string) => unknown,
  /** The ownership hooks' context from the store's hook context (cluster mode); a single node's by default. */
  ownershipContext: (context: unknown) => OwnershipContext = () => SINGLE_NODE,
) {
  const wantsView = new Set<LifecycleEvent['type']>();
  if (hooks.onConnect) wantsView.add('connected').add('reconnected');
  if (hooks.onDisconnect) wantsView.add('disconnected');
  if (hooks.onDelete) wantsView.add('deleted');
  const ownership = createOwnership(hooks, hookRunner);
  if (ownership.tracked) wantsView.add('connected').add('reconnected').add('socket-replaced').add('deleted');

  function runHooks(event: LifecycleEvent, client: ClientView<TData>, committed: Commit, context: unknown): void {
    if (ownership.tracked) {
      // ownership first on a connect (onConnect may use what onAcquire set up), last on a delete
      if (event.type === 'connected' || event.type === 'reconnected' || event.type === 'socket-replaced') {
        ownership.acquire(client, ownershipContext(context));
      } else if (event.type === 'deleted') {
        runLifecycleHooks(event, client, committed, context);
        ownership.release(event.clientId, 'deleted', client);
        return;
      }
    }
    runLifecycleHooks(event, client, committed, context);
  }

  function runLifecycleHooks(
    event: LifecycleEvent,
    client: ClientView<TData>,
    committed: Commit,
    context: unknown,
  ): void {
    const after = committed ?? undefined;
    // a third argument only from a store that gives one (cluster mode), so hooks on a single node
    // are called exactly as before
    const withContext = context !== undefined;
    switch (event.type) {
      case 'connected':
      case 'reconnected': {
        const { onConnect } = hooks;
        if (!onConnect) return;
        const socket = resolveSocket(event.socketId);
        const reconnect = event.type === 'reconnected';
        const call = withContext
          ? () => (onConnect as ThreeArgs)(client, { socket, reconnect }, context)
          : () => onConnect(client, { socket, reconnect });
        hookRunner.run(event.clientId, 'onConnect', call, after);
        return;
      }
      case 'disconnected': {
        const { onDisconnect } = hooks;
        if (!onDisconnect) return;
        const call = withContext
          ? () => (onDisconnect as ThreeArgs)(client, event.reason, context)
          : () => onDisconnect(client, event.reason);
        hookRunner.run(event.clientId, 'onDisconnect', call, after);
        return;
      }
      case 'deleted': {
        const { onDelete } = hooks;
        if (!onDelete) return;
        const call = withContext
          ? () => (onDelete as ThreeArgs)(client, event.reason, context)
          : () => onDelete(client, event.reason);
        hookRunner.run(event.clientId, 'onDelete', call, after);
        return;
      }
    }
  }

  return { wantsView: wantsView as ReadonlySet<LifecycleEvent['type']>, runHooks, ownership };
}

/**
 * The ownership hooks of one node (DESIGN.md, "Hooks in cluster mode"): which clients this node
 * has acquired, so that every `onAcquire` is followed by exactly one `onRelease`. Both are queued
 * on the hook runner with the client's other hooks, without waiting on any commit (a release must
 * run while Redis is unreachable, and a skipped acquire would leave its release unpaired); a hook
 * that throws or hangs is reported and the pairing holds.
 */
export function createOwnership<TData>(hooks: SupervisorHooks<TData>, hookRunner: HookRunner) {
  const { onAcquire, onRelease } = hooks;
  const tracked = onAcquire !== undefined || onRelease !== undefined;
  const held = new Map<string, { view: ClientView<TData>; ctx: OwnershipContext }>();

  /** This node became the client's owner: `onAcquire`, unless it holds the client already. */
  function acquire(view: ClientView<TData>, ctx: OwnershipContext): void {
    if (!tracked || held.has(view.clientId)) return;
    held.set(view.clientId, { view, ctx });
    if (onAcquire) hookRunner.run(view.clientId, 'onAcquire', () => onAcquire(view, ctx));
  }

  /** This node stopped owning the client: `onRelease` (with the latest view given, else the acquired one), if it held it. */
  function release(clientId: string, why: ReleaseWhy, view?: ClientView<TData>): void {
    const entry = held.get(clientId);
    if (entry === undefined) return;
    held.delete(clientId);
    const client = view ?? entry.view;
    if (onRelease) hookRunner.run(clientId, 'onRelease', () => onRelease(client, entry.ctx, why));
  }

  /** Releases every client this node holds (closing; in cluster mode also fenced or out of lease). */
  function releaseAll(
    why: ReleaseWhy,
    viewOf: (clientId: string) => ClientView<TData> | undefined = () => undefined,
  ): void {
    for (const clientId of [...held.keys()]) release(clientId, why, viewOf(clientId));
  }

  return {
    tracked,
    acquire,
    release,
    releaseAll,
    holds: (clientId: string) => held.has(clientId),
    size: () => held.size,
  };
}

/** A node's ownership hooks ({@link createOwnership}). */
export type Ownership<TData = unknown> = ReturnType<typeof createOwnership<TData>>;
