import { type Clock, realClock } from './core/clock.js';
import { createSupervisorCore } from './core/createSupervisorCore.js';
import { internalsOf, type SupervisorSeams } from './core/internals.js';
import type { SupervisorOptions } from './core/options.js';
import type { SupervisorCore } from './core/supervisor.js';
import { type AttachOptions, type AttachTarget, attach } from './server/attach.js';

/**
 * The public API of a supervisor; see docs/design.md for the lifecycle it enforces. The core's API
 * (`SupervisorCore`) plus `attach()`, which the socket.io adapter provides.
 */
export interface Supervisor<TData = unknown> extends SupervisorCore<TData> {
  /**
   * Attaches the supervisor to a socket.io `Server` or `Namespace` (several may be attached, each
   * once); returns `detach()`.
   */
  attach(target: AttachTarget, options?: AttachOptions): () => void;
}

/**
 * Creates a supervisor; see docs/design.md for the lifecycle it enforces.
 * @example
 * ```ts
 * const supervisor = createSupervisor({ reconnectTimeout: 3000, hooks: { onDelete } });
 * supervisor.attach(io);
 * ```
 */
export function createSupervisor<TData = unknown>(options?: SupervisorOptions<TData>): Supervisor<TData> {
  return createSupervisorOn(options, realClock);
}

/**
 * {@link createSupervisor} on the given timers and seams: the core (which knows no socket.io)
 * composed with the socket.io adapter, which reaches the core through its internals. The testing
 * kit passes a fake clock; cluster mode passes its store, admission and delivery as `seams`.
 */
export function createSupervisorOn<TData = unknown>(
  options: SupervisorOptions<TData> | undefined,
  clock: Clock,
  seams?: SupervisorSeams<TData>,
): Supervisor<TData> {
  const core = createSupervisorCore(options, clock, seams);
  const internals = internalsOf(core);
  // the same object, so what is bound to it (its internals, its inspectable) stays bound
  return Object.assign(core, {
    attach: (target: AttachTarget, attachOptions?: AttachOptions) => attach(target, internals, attachOptions),
  });
}
