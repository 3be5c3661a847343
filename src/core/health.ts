import type { ClientCounts } from './types.js';

/**
 * What `supervisor.health()` answers, for a readiness and a liveness probe (docs/operations.md,
 * "Health and readiness"). Read from memory: it costs nothing and never waits.
 */
export interface SupervisorHealth {
  /**
   * Send it new connections: not closing, and (in cluster mode) joined with Redis reachable.
   * A readiness probe answers 200 while `true`, 503 otherwise.
   */
  ready: boolean;
  /**
   * The supervisor is working: its actor runs (or is closing normally). `false` once `close()`
   * has finished, or if its actor stopped on an error: a liveness probe answers 503 and the
   * process should be restarted.
   */
  live: boolean;
  /** `close()` began (SIGTERM): new handshakes are refused `SHUTTING_DOWN`. */
  closing: boolean;
  /** The clients this process holds, by state. */
  clients: ClientCounts;
  /** How many clients have a hook queued or running. */
  pendingHooks: number;
}

/** The supervisor actor's status, as XState reports it. */
type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

/** {@link SupervisorHealth} from what the core knows. */
export function healthOf(parts: {
  status: ActorStatus;
  closing: boolean;
  clients: ClientCounts;
  pendingHooks: number;
}): SupervisorHealth {
  const live = parts.status === 'active';
  return {
    ready: live && !parts.closing,
    live,
    closing: parts.closing,
    clients: parts.clients,
    pendingHooks: parts.pendingHooks,
  };
}
