import type { Commit } from '../store/clientStore.js';
import type { HookRunner } from './hookRunner.js';
import type { ClientView, LifecycleEvent, SupervisorHooks } from './types.js';

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
) {
  const wantsView = new Set<LifecycleEvent['type']>();
  if (hooks.onConnect) wantsView.add('connected').add('reconnected');
  if (hooks.onDisconnect) wantsView.add('disconnected');
  if (hooks.onDelete) wantsView.add('deleted');

  function runHooks(event: LifecycleEvent, client: ClientView<TData>, committed: Commit, context: unknown): void {
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

  return { wantsView: wantsView as ReadonlySet<LifecycleEvent['type']>, runHooks };
}
