import type { Clock } from './clock.js';
import type { HookName } from './types.js';

export interface HookFailure {
  clientId: string;
  hook: HookName;
  error: unknown;
  timedOut: boolean;
}

/** How long one hook took, and whether it succeeded (for metrics). */
export interface HookTiming {
  clientId: string;
  hook: HookName;
  ms: number;
  ok: boolean;
}

export class HookTimeoutError extends Error {
  override readonly name = 'HookTimeoutError';
}

/** A hook `close()` stopped waiting for: running (`started`) or queued behind one that was. */
export interface AbandonedHook {
  clientId: string;
  hook: HookName;
  started: boolean;
}

/**
 * Runs user hooks one after another per client, each bounded by `hookTimeout`. Hooks of one
 * client never overlap; hooks of different clients run concurrently. A hook that throws,
 * rejects or times out is handed to `report` and the client's next hook runs anyway.
 *
 * A hook may wait on a commit (`after`): the promise of the store that makes its transition
 * durable. It runs once that resolves; if it rejects, the transition did not happen on this node
 * (cluster mode: fenced) and the hook is skipped.
 */
export function createHookRunner(options: {
  hookTimeout: number;
  clock: Clock;
  report: (failure: HookFailure) => void;
  /** Called once per hook when it settles, fails or times out. */
  onSettled?: (timing: HookTiming) => void;
}) {
  const { hookTimeout, clock, report, onSettled } = options;
  const tails = new Map<string, Promise<void>>();
  // every hook queued and not settled yet, for abandon(); once abandoned, none starts or reports
  const waiting = new Set<AbandonedHook>();
  let abandoned = false;

  async function invoke(clientId: string, hook: HookName, call: () => unknown): Promise<void> {
    if (abandoned) return;
    let timer: unknown;
    let timeout: HookTimeoutError | undefined;
    const started = performance.now();
    let ok = true;
    try {
      const result = call();
      if (isPromiseLike(result)) {
        await new Promise<void>((resolve, reject) => {
          timer = clock.setTimeout(() => {
            timeout = new HookTimeoutError(
              `${hook} of client ${clientId} did not settle within hookTimeout (${hookTimeout} ms)`,
            );
            reject(timeout);
          }, hookTimeout);
          result.then(() => resolve(), reject);
        });
      }
    } catch (error) {
      ok = false;
      if (abandoned) return;
      try {
        // not `instanceof`: a revoked Proxy thrown by user code throws on it
        report({ clientId, hook, error, timedOut: error === timeout });
      } catch {
        // reporting must never break the chain of the next hooks
      }
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      try {
        onSettled?.({ clientId, hook, ms: performance.now() - started, ok });
      } catch {
        // a metrics listener must not break the chain either
      }
    }
  }

  /** Queues `call` after the client's previous hooks (and after `after`, when given). */
  function run(clientId: string, hook: HookName, call: () => unknown, after?: PromiseLike<void>): void {
    const previous = tails.get(clientId) ?? Promise.resolve();
    const entry: AbandonedHook = { clientId, hook, started: false };
    waiting.add(entry);
    const next = previous.then(async () => {
      try {
        if (after !== undefined) {
          try {
            await after;
          } catch {
            return;
          }
        }
        entry.started = true;
        await invoke(clientId, hook, call);
      } finally {
        waiting.delete(entry);
      }
    });
    tails.set(clientId, next);
    void next.then(() => {
      if (tails.get(clientId) === next) tails.delete(clientId);
    });
  }

  /** Resolves once every queued hook has settled or timed out, including hooks queued meanwhile. */
  async function drain(): Promise<void> {
    while (tails.size > 0) {
      await Promise.all(tails.values());
      // let the bookkeeping `then` above remove the settled tails
      await Promise.resolve();
    }
  }

  /**
   * Stops waiting for the hooks not settled yet (`close()` past `closeTimeout`): returns them; from
   * here none of them starts, and one that settles later is not reported.
   */
  function abandon(): AbandonedHook[] {
    abandoned = true;
    return [...waiting].map((entry) => ({ ...entry }));
  }

  return { run, drain, abandon, pending: () => tails.size };
}

export type HookRunner = ReturnType<typeof createHookRunner>;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  try {
    return (
      (typeof value === 'object' || typeof value === 'function') &&
      value !== null &&
      typeof (value as { then?: unknown }).then === 'function'
    );
  } catch {
    // a hostile getter on `then`: treat the result as a plain value
    return false;
  }
}
