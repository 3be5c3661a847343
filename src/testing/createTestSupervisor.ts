import { internalsOf } from '../core/internals.js';
import { resolveOptions, type SupervisorOptions } from '../core/options.js';
import type { RegisterOptions } from '../core/supervisor.js';
import { tabIdProblem } from '../core/validate.js';
import type {
  ClientState,
  ClientView,
  DeleteReason,
  DisconnectReason,
  LifecycleEvent,
  SupervisorHooks,
} from '../core/types.js';
import { createSupervisorOn, type Supervisor } from '../createSupervisor.js';
import { createFakeClock, type FakeClock } from './fakeClock.js';

/** Options of {@link createTestSupervisor}: a supervisor's, except `now` (the kit owns the clock). */
export interface TestSupervisorOptions<TData = unknown> extends Omit<SupervisorOptions<TData>, 'now'> {
  /**
   * When the fake clock starts (ms): every `at`, `createdAt` and `expiresAt` counts from it.
   * @default 0
   */
  start?: number;
  /**
   * What a hook (or an `events$` subscriber) that throws, rejects or runs past `hookTimeout`
   * does to the test: `'throw'` makes the next `settle()`, `advance()` or `close()` reject with a
   * {@link HookFailedError}; `'record'` only records it (`t.hookErrors`), for tests of the
   * failure itself.
   * @default 'throw'
   */
  hookErrors?: 'throw' | 'record';
}

/** One call the supervisor made to a hook, in the order it made them. */
export type HookCall<TData = unknown> =
  | { hook: 'onConnect'; clientId: string; at: number; client: ClientView<TData>; reconnect: boolean }
  | { hook: 'onDisconnect'; clientId: string; at: number; client: ClientView<TData>; reason: DisconnectReason }
  | { hook: 'onDelete'; clientId: string; at: number; client: ClientView<TData>; reason: DeleteReason };

/** The `hook-error` lifecycle event: a hook (or an `events$` subscriber) threw, rejected or timed out. */
export type HookErrorEvent = Extract<LifecycleEvent, { type: 'hook-error' }>;

/** A hook failed while the test ran (`hookErrors: 'throw'`); `cause` is what it threw. */
export class HookFailedError extends Error {
  override readonly name = 'HookFailedError';
  constructor(
    readonly event: HookErrorEvent,
    readonly others: readonly HookErrorEvent[],
  ) {
    const more = others.length > 0 ? ` (and ${others.length} more hook error(s))` : '';
    super(`${event.hook} of client ${event.clientId} failed: ${event.message}${more}`, { cause: event.error });
  }
}

/** What a test client's handshake carries besides its socket (see {@link TestClient.connect}). */
export interface ConnectOptions {
  /** The page's tab id (1 to 64 printable ASCII characters), as the handshake's `auth.tabId`. */
  tabId?: string;
}

/**
 * One client of a {@link TestSupervisor}, driven as the socket.io adapter would drive it: each
 * method sends the DESIGN event at once (the lifecycle decides synchronously); the hooks it
 * triggers run when the test awaits `t.settle()` or `t.advance()`.
 */
export interface TestClient<TData = unknown> {
  readonly clientId: string;
  /** The client's resume secret, as `register()` returned it. */
  readonly token: string;
  /** `deleted` once the client is gone (whether its tombstone is kept or not). */
  readonly state: ClientState;
  /** The socket the client is on while `connected`, else `null`. */
  readonly socketId: string | null;
  /** Every socket id this handle has used, oldest first. */
  readonly sockets: readonly string[];
  /** The client's view, `undefined` once deleted. */
  view(): ClientView<TData> | undefined;
  /**
   * A socket's handshake (default: a new socket). Connects a `handshaking` client, reconnects a
   * `disconnected` one, swaps the socket of a `connected` one (or is a replay if it is its
   * current socket). Returns the socket id.
   * @param options.tabId the tab id the page sends in its handshake's `auth`, as the browser
   * helper does at every handshake (the client keeps it; without one it keeps the one it had)
   */
  connect(socketId?: string, options?: ConnectOptions): string;
  /**
   * A socket's disconnect (default: the current socket, else the last one used, so a second call
   * is a second disconnect of the same socket).
   * @param reason socket.io's reason, default `transport close`
   */
  disconnect(socketId?: string, reason?: DisconnectReason): void;
  /**
   * A second socket of the client takes over (a duplicated tab, or a reconnect that raced its old
   * socket's disconnect): a handshake on a new socket. Returns the new socket id.
   */
  swap(): string;
  /** `supervisor.delete(clientId, reason)`: `true` if the client was alive. */
  delete(reason?: DeleteReason): boolean;
  /** A prune aimed at this client now: `true` if it deleted it (its deadline had passed). */
  prune(): boolean;
  /** Every lifecycle event about this client, in order. */
  readonly events: readonly LifecycleEvent[];
  /** Every hook call for this client, in order. */
  readonly hookCalls: readonly HookCall<TData>[];
}

/** The timings a test supervisor runs with, its defaults filled in. */
export interface TestTimings {
  /** When its fake clock started. */
  start: number;
  reconnectTimeout: number;
  handshakeTimeout: number;
  pruneInterval: number;
  hookTimeout: number;
  tombstoneTtl: number;
  passivateAfter: number | false;
}

/** A supervisor on a fake clock, with the clients it made and a record of what happened. */
export interface TestSupervisor<TData = unknown> {
  /** The real supervisor under test (the same code as in production, on the fake clock). */
  readonly supervisor: Supervisor<TData>;
  readonly clock: FakeClock;
  readonly options: Readonly<TestTimings>;
  /** The fake clock's time (ms). */
  now(): number;
  /** Registers a client (`handshaking`, as a server-rendered page leaves it). */
  client(options?: RegisterOptions<TData>): TestClient<TData>;
  /** Every client this test supervisor made, in order. */
  clients(): TestClient<TData>[];
  /**
   * Moves the clock `ms` ahead: each timer that falls due (deadline, prune tick, passivation,
   * hook timeout) fires at its time, and the hooks it triggers are awaited before the next one.
   */
  advance(ms: number): Promise<void>;
  /**
   * Moves the clock `ms` ahead without firing anything, as a blocked event loop would: the timers
   * due meanwhile fire late, at the next `advance()` (`advance(0)` fires them now). A prune in
   * between wins the race against them.
   */
  stall(ms: number): void;
  /**
   * Awaits every hook queued so far, and the hooks those trigger, without moving the clock. A
   * hook waiting on real I/O is awaited; one that never settles makes `settle()` wait for ever
   * (its `hookTimeout` runs on the fake clock).
   */
  settle(): Promise<void>;
  /** A prune sweep now (`supervisor.prune()`): returns how many clients it deleted. */
  prune(): number;
  /** `supervisor.close()` (every client deleted with reason `shutdown`), then `settle()`. */
  close(): Promise<void>;
  /** Every lifecycle event, in order. */
  readonly events: readonly LifecycleEvent[];
  /** Every hook call, in order. */
  readonly hookCalls: readonly HookCall<TData>[];
  /** Every `hook-error` event so far (also those already thrown). */
  readonly hookErrors: readonly HookErrorEvent[];
}

interface ClientRecordings<TData> {
  events: LifecycleEvent[];
  hookCalls: HookCall<TData>[];
}

/** Promise jobs a settle lets run after the last sign of activity (passivation, events$ reports). */
const QUIET_ROUNDS = 3;
/** Promise jobs a busy settle polls before it waits for a hook to settle instead. */
const BUSY_ROUNDS = 20;

function checkMs(name: string, ms: unknown): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(`socket.io-supervisor/testing: ${name}(ms) needs a finite number >= 0, got ${String(ms)}`);
  }
}

/**
 * A supervisor for an app's tests: the real supervisor, its timers on a fake clock, no sockets.
 * Clients are driven through {@link TestClient} handles; every hook call and lifecycle event is
 * recorded.
 *
 * @example
 * const t = createTestSupervisor({ hooks: appHooks, reconnectTimeout: 3000 });
 * const c = t.client();
 * c.connect();
 * c.disconnect();
 * await t.advance(3000); // the reconnect deadline fires, onDelete runs
 * assert.equal(c.state, 'deleted');
 */
export function createTestSupervisor<TData = unknown>(
  options: TestSupervisorOptions<TData> = {},
): TestSupervisor<TData> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('socket.io-supervisor/testing: options must be an object');
  }
  const { start = 0, hookErrors: onHookError = 'throw', hooks: userHooks = {}, ...rest } = options;
  if ('now' in rest) {
    throw new TypeError('socket.io-supervisor/testing: the test supervisor owns its clock; leave out `now`');
  }
  if (typeof start !== 'number' || !Number.isFinite(start)) {
    throw new TypeError(`socket.io-supervisor/testing: \`start\` must be a finite number, got ${String(start)}`);
  }
  if (onHookError !== 'throw' && onHookError !== 'record') {
    throw new TypeError(`socket.io-supervisor/testing: \`hookErrors\` must be 'throw' or 'record'`);
  }
  // the user's options, validated as createSupervisor() would (a misspelt hook is an error)
  const resolved = resolveOptions({ ...rest, hooks: userHooks });
  const timings: TestTimings = {
    start,
    reconnectTimeout: resolved.reconnectTimeout,
    handshakeTimeout: resolved.handshakeTimeout,
    pruneInterval: resolved.pruneInterval,
    hookTimeout: resolved.hookTimeout,
    tombstoneTtl: resolved.tombstoneTtl,
    passivateAfter: resolved.passivateAfter,
  };

  const clock = createFakeClock(start);
  const events: LifecycleEvent[] = [];
  const hookCalls: HookCall<TData>[] = [];
  const hookErrors: HookErrorEvent[] = [];
  let unthrown: HookErrorEvent[] = [];
  const recordings = new Map<string, ClientRecordings<TData>>();
  const handles: TestClient<TData>[] = [];

  function recordingsOf(clientId: string): ClientRecordings<TData> {
    let found = recordings.get(clientId);
    if (found === undefined) {
      found = { events: [], hookCalls: [] };
      recordings.set(clientId, found);
    }
    return found;
  }

  function record(call: HookCall<TData>): void {
    hookCalls.push(call);
    recordingsOf(call.clientId).hookCalls.push(call);
  }

  // every hook is recorded before the app's own runs (called as a method of the app's hooks)
  const hooks: SupervisorHooks<TData> = {
    onConnect(client, ctx) {
      const { clientId } = client;
      record({ hook: 'onConnect', clientId, at: clock.now(), client, reconnect: ctx.reconnect });
      return userHooks.onConnect?.(client, ctx);
    },
    onDisconnect(client, reason) {
      record({ hook: 'onDisconnect', clientId: client.clientId, at: clock.now(), client, reason });
      return userHooks.onDisconnect?.(client, reason);
    },
    onDelete(client, reason) {
      record({ hook: 'onDelete', clientId: client.clientId, at: clock.now(), client, reason });
      return userHooks.onDelete?.(client, reason);
    },
  };
  // the ownership hooks run as the app wrote them (not recorded: they are not lifecycle steps)
  if (userHooks.onAcquire) hooks.onAcquire = (client, ctx) => userHooks.onAcquire?.(client, ctx);
  if (userHooks.onRelease) hooks.onRelease = (client, ctx, why) => userHooks.onRelease?.(client, ctx, why);

  const supervisor = createSupervisorOn<TData>({ ...rest, hooks, now: clock.now }, clock);
  const internals = internalsOf(supervisor);
  supervisor.events$.subscribe((event) => {
    events.push(event);
    recordingsOf(event.clientId).events.push(event);
    if (event.type === 'hook-error') {
      hookErrors.push(event);
      if (onHookError === 'throw') unthrown.push(event);
    }
  });

  function throwHookErrors(): void {
    if (unthrown.length === 0) return;
    const [first, ...others] = unthrown as [HookErrorEvent, ...HookErrorEvent[]];
    unthrown = [];
    throw new HookFailedError(first, others);
  }

  async function settle(): Promise<void> {
    let settledMeanwhile = false;
    let wake: (() => void) | null = null;
    // listening for the whole settle, so a hook that settles between two checks is never missed
    const off = internals.onHookSettled(() => {
      settledMeanwhile = true;
      wake?.();
    });
    try {
      let quiet = 0;
      let busy = 0;
      while (quiet < QUIET_ROUNDS) {
        await Promise.resolve();
        if (internals.pendingHooks() === 0) {
          quiet += 1;
          continue;
        }
        quiet = 0;
        busy += 1;
        if (busy < BUSY_ROUNDS) continue;
        busy = 0;
        // a hook is waiting on something outside the promise jobs (I/O): wait for a hook to
        // settle rather than spin, which would starve the I/O it waits on
        if (!settledMeanwhile) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
        settledMeanwhile = false;
      }
    } finally {
      off();
    }
    throwHookErrors();
  }

  async function advance(ms: number): Promise<void> {
    checkMs('advance', ms);
    const until = clock.now() + ms;
    await settle();
    while (clock.fireNext(until)) await settle();
    clock.set(until);
  }

  function stall(ms: number): void {
    checkMs('stall', ms);
    clock.set(clock.now() + ms);
  }

  function client(registerOptions?: RegisterOptions<TData>): TestClient<TData> {
    const { clientId, token } = supervisor.register(registerOptions);
    const label = `c${handles.length + 1}`;
    const mine = recordingsOf(clientId);
    const sockets: string[] = [];
    const newSocket = () => `${label}-s${sockets.length + 1}`;
    const current = () => supervisor.get(clientId)?.socketId ?? null;

    const handle: TestClient<TData> = {
      clientId,
      token,
      get state() {
        return supervisor.get(clientId)?.state ?? 'deleted';
      },
      get socketId() {
        return current();
      },
      sockets,
      view: () => supervisor.get(clientId),
      connect(socketId = newSocket(), connectOptions = {}) {
        const { tabId } = connectOptions;
        if (tabId !== undefined) {
          const problem = tabIdProblem(tabId, 'connect(): options.tabId');
          if (problem) throw new TypeError(`socket.io-supervisor/testing: ${problem}`);
        }
        if (!sockets.includes(socketId)) sockets.push(socketId);
        supervisor.send({ type: 'socket.handshake', clientId, socketId, ...(tabId === undefined ? {} : { tabId }) });
        return socketId;
      },
      disconnect(socketId, reason = 'transport close') {
        const target = socketId ?? current() ?? sockets.at(-1) ?? `${label}-never-connected`;
        supervisor.send({ type: 'socket.disconnect', clientId, socketId: target, reason });
      },
      swap: () => handle.connect(newSocket()),
      delete: (reason) => supervisor.delete(clientId, reason),
      prune() {
        const live = supervisor.get(clientId) !== undefined;
        supervisor.send({ type: 'client.prune', clientId });
        return live && supervisor.get(clientId) === undefined;
      },
      events: mine.events,
      hookCalls: mine.hookCalls,
    };
    handles.push(handle);
    return handle;
  }

  return {
    supervisor,
    clock,
    options: timings,
    now: clock.now,
    client,
    clients: () => [...handles],
    advance,
    stall,
    settle,
    prune: () => supervisor.prune(),
    async close() {
      await supervisor.close();
      await settle();
    },
    events,
    hookCalls,
    hookErrors,
  };
}
