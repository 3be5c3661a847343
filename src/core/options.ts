import type { InspectionEvent, Observer } from 'xstate';
import { bindLogger, LIB, silentLogger } from './bindLogger.js';
import type { Logger, SupervisorHooks } from './types.js';

/** At most `limit` hits per key within `window` ms. */
export interface RateLimit {
  limit: number;
  /** @default 60000 (ms) */
  window: number;
}

/** What {@link RateLimitOptions.address} reads: the fields of socket.io's `socket.handshake` it may use. */
export interface HandshakeInfo {
  address: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Per-remote-address limits on handshakes. A limit left out keeps its default; `false` turns it
 * off.
 */
export interface RateLimitOptions {
  /** New clients created by `autoRegister` per address and window. @default { limit: 600, window: 60000 } */
  autoRegister?: RateLimit | false;
  /**
   * Rejected handshakes per address and window; past it every handshake is `RATE_LIMITED`.
   * @default { limit: 120, window: 60000 }
   */
  failedHandshakes?: RateLimit | false;
  /**
   * The address a handshake counts against. Behind a reverse proxy every socket comes from the
   * proxy: derive the address from a header your proxy sets (and that browsers cannot forge past
   * it). If it throws, the socket's own address is used and the error goes to `logger.warn`.
   * @default (handshake) => handshake.address
   */
  address?: (handshake: HandshakeInfo) => string;
}

/** Options of `createSupervisor()`. Every default lives in {@link defaultOptions}. */
export interface SupervisorOptions<TData = unknown, TSocket = unknown> {
  /**
   * How long a disconnected client is kept, waiting for its browser to reconnect, before it is
   * deleted with reason `reconnect-timeout`.
   * @default 3000 (ms)
   */
  reconnectTimeout?: number;
  /**
   * How long a registered client may stay in `handshaking` (its page was served but no socket
   * arrived) before it is deleted with reason `handshake-timeout`.
   * @default 60000 (ms)
   */
  handshakeTimeout?: number;
  /**
   * Period of the safety-net prune sweep; `0` turns it off. Deadlines fire on their own timer;
   * the sweep only catches clients whose timer was late (a blocked event loop).
   * @remarks A sweep visits only clients whose deadline has passed: its cost does not grow with
   * the number of clients.
   * @default 10000 (ms)
   */
  pruneInterval?: number;
  /**
   * How long one hook may run before it is reported as a `hook-error` (`timedOut: true`) and the
   * client's next hook starts.
   * @default 5000 (ms)
   */
  hookTimeout?: number;
  /**
   * How long a deleted client's id is remembered, so that a late handshake is told
   * `CLIENT_DELETED` (reload the page) rather than `UNKNOWN_CLIENT`. Tombstones expire lazily
   * (on lookup and on each sweep), never by a timer each. `0` keeps none.
   * @default 60000 (ms)
   */
  tombstoneTtl?: number;
  /**
   * The most tombstones kept at once; past it the oldest is forgotten first, so a flood of
   * deletes cannot grow memory without bound.
   * @default 100000
   */
  maxTombstones?: number;
  /**
   * The most clients alive at once; `register()` past it throws `CLIENT_LIMIT` and the adapter
   * rejects the socket with that code.
   * @default Infinity
   */
  maxClients?: number;
  /**
   * When a socket brings no `clientId`, register a new client for it and tell the browser
   * `supervisor:client { clientId, token }` right after connect (single-page apps).
   * @default false
   */
  autoRegister?: boolean;
  /**
   * Per-remote-address limits (socket.io's `handshake.address`), rejected with `RATE_LIMITED`;
   * `false` turns all of them off. Behind a proxy every client shares the proxy's address: raise
   * the limits or turn them off there.
   * @default { autoRegister: { limit: 600, window: 60000 }, failedHandshakes: { limit: 120, window: 60000 } }
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * How long a client's actor may sit idle (no event) before it is passivated: kept as a compact
   * snapshot of its machine state (about 0.4 KB instead of about 2.7 KB for a live XState actor)
   * and re-created from that snapshot for its next event, which the machine then decides as
   * always. `0` passivates as soon as the current synchronous work is done; `false` never.
   * Nothing is passivated while `inspect` is set, so the inspector sees every actor.
   * @remarks Re-creating an actor costs about 10 µs, so a client that gets events in quick
   * succession should find its actor still live: the default outlasts socket.io-client's
   * reconnection backoff (0.5–5 s), the default `reconnectTimeout` (3 s) and the usual gap between
   * a page's render and its socket, so one burst of activity re-creates an actor once; an idle
   * client drops from about 2.7 KB to about 0.4 KB after it (`npm run bench:passivation`).
   * @default 5000 (ms)
   */
  passivateAfter?: number | false;
  /**
   * How many live client actors are kept while the server is busy. An actor idle for
   * `passivateAfter` (one waiting for a socket, `handshaking` or `disconnected`: twice that) is
   * passivated at once only while more than this many are live, longest idle first; below it,
   * idle actors wait until the whole server has had no event for `passivateAfter`, so a burst of connects or a reconnect storm never passivates the actors it is
   * about to use, and an idle server still settles to compact snapshots. `0` passivates every
   * idle actor on time whatever the load. Ignored with `passivateAfter: 0` (at once) or `false`.
   * While the event loop is saturated (Node's event-loop utilisation at or above 0.9 since the
   * last look, rechecked every second), nothing is passivated above it either: a burst keeps the
   * actors it is about to use, and the server settles once the burst is over (a loop saturated
   * for good keeps its actors live until it gets a breath, or until half of V8's heap limit is in
   * use, when passivation above this resumes).
   * @remarks A live actor costs about 1.05 KB more than its snapshot, so the default bounds the
   * extra heap of a busy server at about 11 MB once its loop is not saturated; re-creating a passivated actor costs about
   * 35–40 µs of CPU, three times the event it is re-created for (`npm run bench:passivation`).
   * @example createSupervisor({ passivateAbove: 50_000 }) // a big server: keep more actors live
   * @default 10000
   */
  passivateAbove?: number;
  /**
   * Bounds of each client's outbox (`to(clientId).emit()`): messages the page has not
   * acknowledged yet, kept while it is away. Past either bound the client is deleted with reason
   * `outbox-overflow` (a gap would break "once, in order"; the page must start over). A page that
   * never acknowledges hits the same bound. `maxBytes` counts the approximate encoded size.
   * @default { maxMessages: 1000, maxBytes: 1048576 }
   */
  outbox?: { maxMessages?: number; maxBytes?: number };
  /** Lifecycle hooks; see {@link SupervisorHooks}. @default {} */
  hooks?: SupervisorHooks<TData, TSocket>;
  /**
   * XState inspection observer (or function), passed to the supervisor's actor system so every
   * client actor is inspected too; `@statelyai/inspect`'s `inspector.inspect` plugs in here.
   * @default undefined
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * The clock. Every event the supervisor receives is stamped with it; timers are armed
   * relative to it. It must not go backwards.
   * @default Date.now
   */
  now?: () => number;
  /**
   * How long `close()` may take: hooks still running (or queued) this long after it began are
   * abandoned, each reported on `logger.error` and as a `hook-error` event, and `close()` resolves.
   * Keep it below your platform's grace period (Kubernetes' `terminationGracePeriodSeconds`).
   * @default 10000 (ms)
   */
  closeTimeout?: number;
  /**
   * Where the library logs: a `pino()` instance, or anything with `debug`, `info`, `warn` and
   * `error` (and optionally `child`). Every line carries `{ lib: 'socket.io-supervisor' }`.
   * @default a logger that drops everything
   */
  logger?: Logger;
}

/** `passivateAfter`'s default, by name (the test projects set and restore it). */
export const PASSIVATE_AFTER = 5000;

/** The defaults of {@link SupervisorOptions}, merged once when a supervisor is created. */
export const defaultOptions = {
  reconnectTimeout: 3000,
  handshakeTimeout: 60000,
  pruneInterval: 10000,
  hookTimeout: 5000,
  closeTimeout: 10000,
  tombstoneTtl: 60000,
  maxTombstones: 100000,
  maxClients: Number.POSITIVE_INFINITY,
  autoRegister: false,
  passivateAfter: PASSIVATE_AFTER as number | false,
  passivateAbove: 10_000,
  outbox: { maxMessages: 1000, maxBytes: 1048576 } as { maxMessages?: number; maxBytes?: number },
  rateLimit: {
    autoRegister: { limit: 600, window: 60000 },
    failedHandshakes: { limit: 120, window: 60000 },
  } as RateLimitOptions | false,
  hooks: {},
  inspect: undefined,
  /** `Date.now`, read at each call (not once at import), so fake timers installed later are honoured. */
  now: () => Date.now(),
  logger: silentLogger,
} as const;

export type ResolvedOptions<TData = unknown, TSocket = unknown> = Required<
  Omit<SupervisorOptions<TData, TSocket>, 'inspect'>
> &
  Pick<SupervisorOptions<TData, TSocket>, 'inspect'>;

// setTimeout silently clamps anything above 2^31-1 ms to 1 ms; refuse such timeouts instead.
const MAX_TIMER = 2 ** 31 - 1;

/** Throws a `TypeError` naming option `name` unless it is a usable timer duration (ms). Cluster options use it too. */
export function checkDuration(name: string, value: unknown, { allowZero }: { allowZero: boolean }): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER) {
    throw new TypeError(
      `socket.io-supervisor: option \`${name}\` must be a finite number of milliseconds between 0 and ${MAX_TIMER}, got ${String(value)}`,
    );
  }
  if (!allowZero && value === 0) {
    throw new TypeError(`socket.io-supervisor: option \`${name}\` must be greater than 0`);
  }
}

/** Throws a `TypeError` naming option `name` unless it is a whole number ≥ 0 (or Infinity). Cluster options use it too. */
export function checkCount(name: string, value: unknown): void {
  const ok = typeof value === 'number' && value >= 0 && (Number.isInteger(value) || value === Number.POSITIVE_INFINITY);
  if (!ok) {
    throw new TypeError(
      `socket.io-supervisor: option \`${name}\` must be a whole number >= 0 (or Infinity), got ${String(value)}`,
    );
  }
}

/** Throws a `TypeError` naming option `logger` unless it has `debug()`, `info()`, `warn()` and `error()`. Cluster options use it too. */
export function checkLogger(logger: unknown): void {
  const { debug, info, warn, error, child } = (logger ?? {}) as Partial<Logger>;
  if ([debug, info, warn, error].some((level) => typeof level !== 'function')) {
    throw new TypeError('socket.io-supervisor: option `logger` must have debug(), info(), warn() and error()');
  }
  if (child !== undefined && typeof child !== 'function') {
    throw new TypeError('socket.io-supervisor: option `logger`: child must be a function when present');
  }
}

/** The keys of {@link RateLimitOptions}. */
const RATE_LIMIT_KEYS = ['autoRegister', 'failedHandshakes', 'address'] as const;

function checkRateLimits(rateLimit: unknown): void {
  if (rateLimit === false) return;
  if (typeof rateLimit !== 'object' || rateLimit === null) {
    throw new TypeError('socket.io-supervisor: option `rateLimit` must be an object or false');
  }
  for (const [name, limit] of Object.entries(rateLimit)) {
    if (name === 'address') {
      if (limit !== undefined && typeof limit !== 'function') {
        throw new TypeError('socket.io-supervisor: option `rateLimit.address` must be a function of the handshake');
      }
      continue;
    }
    if (!(RATE_LIMIT_KEYS as readonly string[]).includes(name)) {
      throw new TypeError(`socket.io-supervisor: unknown option \`rateLimit.${name}\``);
    }
    if (limit === false || limit === undefined) continue;
    const { limit: count, window } = (limit ?? {}) as { limit?: unknown; window?: unknown };
    checkCount(`rateLimit.${name}.limit`, count);
    checkDuration(`rateLimit.${name}.window`, window, { allowZero: false });
  }
}

/** Validates `outbox` and fills in a bound left out with its default. */
function checkOutbox(merged: { outbox: { maxMessages?: number; maxBytes?: number } }): void {
  const { outbox } = merged;
  if (typeof outbox !== 'object' || outbox === null) {
    throw new TypeError('socket.io-supervisor: option `outbox` must be an object { maxMessages, maxBytes }');
  }
  for (const key of Object.keys(outbox)) {
    if (key !== 'maxMessages' && key !== 'maxBytes')
      throw new TypeError(`socket.io-supervisor: unknown option \`outbox.${key}\``);
  }
  const defaults = defaultOptions.outbox as Required<typeof outbox>;
  merged.outbox = {
    maxMessages: outbox.maxMessages ?? defaults.maxMessages,
    maxBytes: outbox.maxBytes ?? defaults.maxBytes,
  };
  checkCount('outbox.maxMessages', merged.outbox.maxMessages);
  checkCount('outbox.maxBytes', merged.outbox.maxBytes);
}

/** Merges `options` over {@link defaultOptions} and validates each one, naming the culprit. */
export function resolveOptions<TData, TSocket>(
  options: SupervisorOptions<TData, TSocket> = {},
): ResolvedOptions<TData, TSocket> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('socket.io-supervisor: options must be an object');
  }
  const merged = { ...defaultOptions } as ResolvedOptions<TData, TSocket>;
  for (const [key, value] of Object.entries(options)) {
    if (!(key in defaultOptions)) {
      throw new TypeError(`socket.io-supervisor: unknown option \`${key}\``);
    }
    // an explicit `undefined` means "use the default", as with socket.io's own options
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  checkDuration('reconnectTimeout', merged.reconnectTimeout, { allowZero: true });
  checkDuration('handshakeTimeout', merged.handshakeTimeout, { allowZero: false });
  checkDuration('pruneInterval', merged.pruneInterval, { allowZero: true });
  checkDuration('hookTimeout', merged.hookTimeout, { allowZero: false });
  checkDuration('closeTimeout', merged.closeTimeout, { allowZero: false });
  checkDuration('tombstoneTtl', merged.tombstoneTtl, { allowZero: true });
  if (merged.passivateAfter !== false) {
    if (typeof merged.passivateAfter !== 'number') {
      throw new TypeError(
        `socket.io-supervisor: option \`passivateAfter\` must be false or a number of milliseconds, got ${String(merged.passivateAfter)}`,
      );
    }
    checkDuration('passivateAfter', merged.passivateAfter, { allowZero: true });
  }
  checkCount('passivateAbove', merged.passivateAbove);
  checkOutbox(merged);
  checkCount('maxTombstones', merged.maxTombstones);
  checkCount('maxClients', merged.maxClients);
  if (typeof merged.autoRegister !== 'boolean') {
    throw new TypeError('socket.io-supervisor: option `autoRegister` must be a boolean');
  }
  checkRateLimits(merged.rateLimit);
  if (merged.rateLimit) {
    // a limit left out keeps its default (only `false` turns one off)
    const given = merged.rateLimit as Record<string, unknown>;
    const defaults = defaultOptions.rateLimit as Record<string, unknown>;
    merged.rateLimit = Object.fromEntries(
      RATE_LIMIT_KEYS.map((key) => [key, given[key] === undefined ? defaults[key] : given[key]]),
    ) as RateLimitOptions;
  }
  if (typeof merged.now !== 'function') {
    throw new TypeError('socket.io-supervisor: option `now` must be a function returning ms');
  }
  if (typeof merged.hooks !== 'object' || merged.hooks === null) {
    throw new TypeError('socket.io-supervisor: option `hooks` must be an object');
  }
  for (const [name, hook] of Object.entries(merged.hooks)) {
    if (!['onConnect', 'onDisconnect', 'onDelete', 'onAcquire', 'onRelease'].includes(name)) {
      throw new TypeError(`socket.io-supervisor: unknown hook \`hooks.${name}\``);
    }
    if (hook !== undefined && typeof hook !== 'function') {
      throw new TypeError(`socket.io-supervisor: hook \`hooks.${name}\` must be a function`);
    }
  }
  checkLogger(merged.logger);
  merged.logger = bindLogger(merged.logger, { lib: LIB });
  return merged;
}
