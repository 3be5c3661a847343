import { vi } from 'vitest';
import type { SupervisorOptions } from '../../src/core/options.js';
import type { DisconnectReason, HookName, LifecycleEvent } from '../../src/core/types.js';
import { createSupervisor } from '../../src/index.js';

export interface HookCall {
  hook: HookName;
  clientId: string;
  state: string;
  arg: unknown;
}

/**
 * A supervisor whose hooks and events are recorded. Pass `hooks` to wrap your own; every call is
 * recorded before yours runs.
 */
export function recordedSupervisor(options: SupervisorOptions = {}) {
  const calls: HookCall[] = [];
  const user = options.hooks ?? {};
  const supervisor = createSupervisor({
    pruneInterval: 0,
    ...options,
    hooks: {
      onConnect: (client, ctx) => {
        calls.push({ hook: 'onConnect', clientId: client.clientId, state: client.state, arg: ctx.reconnect });
        return user.onConnect?.(client, ctx);
      },
      onDisconnect: (client, reason) => {
        calls.push({ hook: 'onDisconnect', clientId: client.clientId, state: client.state, arg: reason });
        return user.onDisconnect?.(client, reason);
      },
      onDelete: (client, reason) => {
        calls.push({ hook: 'onDelete', clientId: client.clientId, state: client.state, arg: reason });
        return user.onDelete?.(client, reason);
      },
    },
  });
  const events: LifecycleEvent[] = [];
  supervisor.events$.subscribe((event) => events.push(event));
  const send = supervisor.actor.send;
  return {
    supervisor,
    events,
    calls,
    hooksOf: (clientId: string) => calls.filter((call) => call.clientId === clientId).map((call) => call.hook),
    deletes: (clientId: string) => calls.filter((call) => call.clientId === clientId && call.hook === 'onDelete'),
    ignored: () => events.filter((event) => event.type === 'ignored').map((event) => (event as { why: string }).why),
    handshake: (clientId: string, socketId: string) => send({ type: 'socket.handshake', clientId, socketId }),
    disconnect: (clientId: string, socketId: string, reason: DisconnectReason = 'transport close') =>
      send({ type: 'socket.disconnect', clientId, socketId, reason }),
    remove: (clientId: string, reason?: string) => send({ type: 'client.delete', clientId, reason }),
    sweep: () => send({ type: 'client.prune' }),
  };
}

/** Lets queued hooks (microtasks) run, without moving fake time. */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await Promise.resolve();
}

/** Fake time from a round epoch, so deadlines are easy to read. */
export function useFakeClock(): void {
  vi.useFakeTimers({ now: 1_000_000 });
}
