import { expect, vi } from 'vitest';
import type { LifecycleEvent } from '../../src/core/types.js';
import type { Supervisor } from '../../src/index.js';
import type { ModelEvent, ModelSnapshot } from '../../src/testing/lifecycleModel.js';
import { eventually } from '../helpers/eventually.js';
import type { Harness } from '../helpers/io.js';
import { once, rejection } from '../helpers/io.js';

/** Hook calls of the client under test, counted. */
export interface HookCounts {
  onConnect: number;
  onDisconnect: number;
  onDelete: number;
}

/** Drives one client of a real supervisor with the model's abstract events. */
export interface Driver {
  supervisor: Supervisor;
  clientId: string;
  hooks: HookCounts;
  /** Every lifecycle event about the client under test, in order. */
  events: LifecycleEvent[];
  /** The socket the client should be on while connected. */
  currentSocket(): string | null;
  exec(event: ModelEvent, before: ModelSnapshot, after: ModelSnapshot): Promise<void>;
  /** Whether extra events (caused by real sockets) may follow the expected one. */
  lenient: boolean;
  /** What the supervisor reports for the model's expectation on this driver (default: the same). */
  translate?(expectation: string, event: ModelEvent): string;
}

function label(event: LifecycleEvent): string {
  if (event.type === 'ignored') return `ignored:${event.why}`;
  if (event.type === 'deleted') return `deleted:${event.reason}`;
  if (event.type === 'rejected') return `rejected:${event.code}`;
  return event.type;
}

/**
 * The checks after every step: state, socket, hook counts, registry size, and what the
 * supervisor reported, all against the model's snapshot.
 */
export async function checkStep(
  driver: Driver,
  event: ModelEvent,
  after: ModelSnapshot,
  stepEvents: LifecycleEvent[],
): Promise<void> {
  const state = after.value as string;
  const { context } = after;
  const expectation = driver.translate ? driver.translate(context.expect, event) : context.expect;
  const verify = () => {
    const view = driver.supervisor.get(driver.clientId);
    expect(view?.state ?? 'deleted', 'state').toBe(state);
    expect(view?.socketId ?? null, 'socketId').toBe(state === 'connected' ? driver.currentSocket() : null);
    expect(driver.supervisor.list(), 'registry size').toHaveLength(state === 'deleted' ? 0 : 1);
    expect(driver.hooks, 'hook counts').toEqual({
      onConnect: context.connects,
      onDisconnect: context.disconnects,
      onDelete: context.deletes,
    });
  };
  if (driver.lenient) await eventually(verify, 3000);
  else {
    for (let i = 0; i < 50; i += 1) await Promise.resolve();
    verify();
  }
  const reported = stepEvents.map(label);
  if (expectation === 'none') {
    if (!driver.lenient) expect(reported, 'reported').toEqual([]);
  } else if (driver.lenient) {
    expect(reported, 'reported').toContain(expectation);
  } else {
    expect(reported, 'reported').toEqual([expectation]);
  }
}

/** The in-process driver: the supervisor on vi's fake clock, events sent to its actor. */
export function inProcessDriver(supervisor: Supervisor, hooks: HookCounts, events: LifecycleEvent[]): Driver {
  const { clientId } = supervisor.register();
  events.length = 0;
  let sockets = 0;
  let current: string | null = null;
  let last = 'never-connected';
  const send = supervisor.actor.send;
  return {
    supervisor,
    clientId,
    hooks,
    events,
    lenient: false,
    currentSocket: () => current,
    async exec(event, before) {
      const state = before.value as string;
      switch (event.type) {
        case 'HANDSHAKE_NEW': {
          const socketId = `s${++sockets}`;
          send({ type: 'socket.handshake', clientId, socketId });
          if (state !== 'deleted') current = socketId;
          last = socketId;
          break;
        }
        case 'HANDSHAKE_SAME':
          send({ type: 'socket.handshake', clientId, socketId: current! });
          break;
        case 'DISCONNECT_CURRENT':
          send({ type: 'socket.disconnect', clientId, socketId: current ?? last, reason: 'transport close' });
          current = null;
          break;
        case 'DISCONNECT_STALE':
          send({ type: 'socket.disconnect', clientId, socketId: `stale-${sockets}`, reason: 'transport close' });
          break;
        case 'PRUNE_EARLY':
          send({ type: 'client.prune', clientId, now: Date.now() });
          break;
        case 'PRUNE_DUE': {
          const expiresAt = supervisor.get(clientId)?.expiresAt ?? Date.now() + 10 ** 9;
          send({ type: 'client.prune', now: expiresAt });
          break;
        }
        case 'DELETE':
          send({ type: 'client.delete', clientId, reason: 'manual' });
          break;
        case 'TIMEOUT': {
          // exactly the deadline, and one millisecond less first: alive at T-1, deleted at T
          const remaining = supervisor.get(clientId)!.expiresAt! - Date.now();
          vi.advanceTimersByTime(remaining - 1);
          expect(supervisor.get(clientId)?.state, 'alive at T-1 ms').toBe(state);
          vi.advanceTimersByTime(1);
          break;
        }
      }
      if (event.type === 'DELETE' || event.type === 'PRUNE_DUE' || event.type === 'TIMEOUT') current = null;
      // a little time passes between steps, never up to a deadline
      vi.advanceTimersByTime(3);
    },
  };
}

/** The real-socket driver: real socket.io-client sockets for handshakes and disconnects. */
export function socketDriver(h: Harness, hooks: HookCounts, events: LifecycleEvent[]): Driver {
  const { clientId, token } = h.supervisor.register();
  events.length = 0;
  const { supervisor } = h;
  const send = supervisor.actor.send;
  let current: ReturnType<Harness['connect']> | null = null;
  let lastId = 'never-connected';
  return {
    supervisor,
    clientId,
    hooks,
    events,
    lenient: true,
    // DESIGN: a deleted client's handshake never reaches the actor; the adapter rejects the
    // socket with CLIENT_DELETED
    translate: (expectation, event) =>
      event.type === 'HANDSHAKE_NEW' && expectation === 'ignored:already-deleted'
        ? 'rejected:CLIENT_DELETED'
        : expectation,
    currentSocket: () => current?.id ?? null,
    async exec(event, before) {
      const state = before.value as string;
      switch (event.type) {
        case 'HANDSHAKE_NEW': {
          const socket = h.connect({ clientId, token });
          if (state === 'deleted') {
            // the adapter turns the socket away before the supervisor sees it
            expect((await rejection(socket)).data?.code).toBe('CLIENT_DELETED');
            break;
          }
          await once(socket, 'connect');
          current = socket;
          lastId = socket.id!;
          break;
        }
        case 'HANDSHAKE_SAME':
          // a replayed handshake of the current socket, as a duplicate connection event would be
          send({ type: 'socket.handshake', clientId, socketId: current!.id! });
          break;
        case 'DISCONNECT_CURRENT':
          if (state === 'connected' && current) {
            const gone = once(current, 'disconnect');
            current.disconnect();
            await gone;
          } else {
            send({ type: 'socket.disconnect', clientId, socketId: lastId, reason: 'transport close' });
          }
          current = null;
          break;
        case 'DISCONNECT_STALE':
          send({ type: 'socket.disconnect', clientId, socketId: 'stale-socket-id', reason: 'transport close' });
          break;
        case 'PRUNE_EARLY':
          send({ type: 'client.prune', clientId, now: Date.now() });
          break;
        case 'PRUNE_DUE':
          send({ type: 'client.prune', now: supervisor.get(clientId)?.expiresAt ?? Date.now() + 10 ** 9 });
          current = null;
          break;
        case 'DELETE':
          supervisor.delete(clientId, 'manual');
          current = null;
          break;
        case 'TIMEOUT':
          await h.next((e) => e.type === 'deleted' && e.clientId === clientId);
          current = null;
          break;
      }
      // a server-side delete closes the socket: let its disconnect arrive before the next step
      await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
