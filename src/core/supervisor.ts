import type { Observable } from 'rxjs';
import type { ClientActor } from '../machines/client.machine.js';
import type { SupervisorActor } from '../machines/supervisor.machine.js';
import type { ClientChannel } from './delivery.js';
import type { SupervisorHealth } from './health.js';
import type {
  ClientCounts,
  ClientView,
  DeleteReason,
  LifecycleEvent,
  SupervisorEvent,
  SupervisorStats,
} from './types.js';

/** What `register()` returns: the public id and the private token the browser resumes with. */
export interface Registration {
  clientId: string;
  /** Give it only to the browser that owns the client (in the page or `supervisor:client`). */
  token: string;
}

/** Options of `register()`: the page's tab, if known, and the client's application data. */
export interface RegisterOptions<TData> {
  tabId?: string;
  data?: TData;
}

/**
 * A supervisor as the core makes it: the whole public API but `attach()`, which the socket.io
 * adapter adds (the public `Supervisor`, in `src/createSupervisor.ts`, composes both). The core
 * knows no socket.io; the adapter reaches what it needs through `internalsOf()`.
 */
export interface SupervisorCore<TData = unknown> {
  /** Creates a client in `handshaking` (for a page the server renders) and returns its credentials. */
  register(options?: RegisterOptions<TData>): Registration;
  /** The client's current view, or `undefined` if it is unknown or deleted. */
  get(clientId: string): ClientView<TData> | undefined;
  /** Every live client's view. */
  list(): ClientView<TData>[];
  /** Deletes a client (`onDelete` runs with `reason`); `false` if it was not alive. Idempotent. */
  delete(clientId: string, reason?: DeleteReason): boolean;
  /** Runs a prune sweep now; returns how many clients it deleted. */
  prune(): number;
  /** Resolves with the client's view once it is connected (at once if it already is). */
  connected(clientId: string, options?: { timeout?: number }): Promise<ClientView<TData>>;
  /**
   * Delivers a DESIGN event (`socket.handshake`, `socket.disconnect`, `client.delete`,
   * `client.prune`) straight to its client's actor, as the socket.io adapter does; an event for a
   * deleted or unknown id is answered by the supervisor (`ignored`). `actor.send()` gives the same
   * result through a step of the supervisor's machine.
   */
  send(event: SupervisorEvent): void;
  /**
   * Messages to a client rather than a socket: `to(clientId).emit(event, ...args)` delivers to
   * the page once and in order across reconnects and socket swaps (the browser helper's
   * `supervised.on(event, handler)` receives them), keeping them in the client's outbox while it
   * is away; `false` and an `undelivered` event once the client is deleted or unknown.
   */
  to(clientId: string): ClientChannel;
  /** Every lifecycle event; completes after `close()`. */
  readonly events$: Observable<LifecycleEvent>;
  /** Client counts by state, on subscribe and on every change. */
  readonly counts$: Observable<ClientCounts>;
  /** Client counts by state, now. */
  counts(): ClientCounts;
  /** Counters of ignored events by `why`, deletes by reason, rejections by code, hook errors. */
  stats(): SupervisorStats;
  /** The supervisor's XState actor, for inspection and `system.get(clientId)` of active clients. */
  readonly actor: SupervisorActor;
  /**
   * The client's XState actor, re-created from its snapshot if it was passivated; `undefined` if
   * the client is deleted or unknown. It stays valid until the client is passivated again (after
   * `passivateAfter` without events): ask again rather than keeping it.
   */
  actorOf(clientId: string): ClientActor | undefined;
  /**
   * Readiness and liveness, from memory (a probe endpoint answers with it): see
   * {@link SupervisorHealth}.
   * @example
   * ```ts
   * app.get('/readyz', (_req, res) => void res.status(supervisor.health().ready ? 200 : 503).end());
   * ```
   */
  health(): SupervisorHealth;
  /**
   * Deletes every client with reason `shutdown`, awaits their hooks for at most `closeTimeout`
   * (those still running then are abandoned and reported as `hook-error`), stops every timer.
   */
  close(): Promise<void>;
}
