import type { Observable } from 'rxjs';
import { SupervisorError } from '../core/errors.js';
import { isId } from '../core/ids.js';
import type { LifecycleEvent } from '../core/types.js';
import type { ClusterClientView } from './redis/records.js';
import type { RedisClusterStore } from './redis/RedisClusterStore.js';

/**
 * How long `connected()` waits between reads of the client when nothing told it anything: the
 * fallback for a missed announcement (pub/sub delivers at most once, and not while the
 * subscriber reconnects). Doubling from the first to the last.
 */
const FALLBACK_MS = { first: 500, max: 5_000 } as const;

const SETTLING = new Set<LifecycleEvent['type']>(['connected', 'reconnected', 'deleted']);

/**
 * `connected()` on a node: the client's view once it is connected on any node (at once if it is),
 * woken by events, not by polling: this node's `events$` for a client it holds, and the client's
 * announcements in Redis (`connected`, `deleted`: the `announce` fragment) for one held elsewhere;
 * a read with backoff (from 0.5 s to 5 s) only covers an announcement that was missed. Rejects as a
 * single node does: `CLIENT_DELETED`, `UNKNOWN_CLIENT`, `TIMEOUT`; and `CLOSED` when the node
 * closes meanwhile.
 */
export function createConnectedAnywhere<TData>(deps: {
  store: RedisClusterStore<TData>;
  events$: Observable<LifecycleEvent>;
  get(clientId: string): Promise<ClusterClientView<TData> | undefined>;
  /** Whether `close()` began: a wait ends with `CLOSED`. */
  closing(): boolean;
  /** Calls `listener` once the node closes; returns the function that stops listening. */
  onClose(listener: () => void): () => void;
}) {
  const { store } = deps;

  /** The view if connected; throws when the client is gone; `null` while it is alive and not connected. */
  async function check(clientId: string, deletedSeen: boolean): Promise<ClusterClientView<TData> | null> {
    const view = await deps.get(clientId);
    if (view?.state === 'connected') return view;
    if (view) return null;
    if (deletedSeen || (isId(clientId) && (await store.isDeleted(clientId)))) {
      throw new SupervisorError('CLIENT_DELETED', `connected(): client ${clientId} was deleted`);
    }
    throw new SupervisorError('UNKNOWN_CLIENT', `connected(): no client ${clientId}`);
  }

  return async function connected(
    clientId: string,
    options: { timeout?: number } = {},
  ): Promise<ClusterClientView<TData>> {
    const first = await check(clientId, false);
    if (first) return first;
    const limit = options.timeout;
    const deadline = limit === undefined ? Number.POSITIVE_INFINITY : Date.now() + limit;
    let wake: () => void = () => {};
    let signalled = false;
    let deleted = false;
    let closed = false;
    const signal = (gone = false) => {
      deleted ||= gone;
      signalled = true;
      wake();
    };
    const events = deps.events$.subscribe({
      next: (event) => {
        if (event.clientId === clientId && SETTLING.has(event.type)) signal(event.type === 'deleted');
      },
    });
    const stopClose = deps.onClose(() => {
      closed = true;
      signal();
    });
    let stopWatch: (() => Promise<void>) | null = null;
    try {
      // listening from here: an announcement made after this resolves is not missed
      stopWatch = await store.watch(clientId, (announcement) => signal(announcement === 'deleted'));
      for (let attempt = 0; ; attempt++) {
        // read again after the watch began (the client may have connected just before)
        signalled = false;
        const view = await check(clientId, deleted);
        if (view) return view;
        if (closed || deps.closing()) {
          throw new SupervisorError(
            'CLOSED',
            `connected(): this node closed while client ${clientId} was not connected`,
          );
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new SupervisorError('TIMEOUT', `connected(): client ${clientId} did not connect within ${limit} ms`);
        }
        if (signalled) continue;
        const fallback = Math.min(FALLBACK_MS.first * 2 ** Math.min(attempt, 10), FALLBACK_MS.max);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(fallback, left));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => {};
      }
    } finally {
      events.unsubscribe();
      stopClose();
      await stopWatch?.().catch(() => {});
    }
  };
}
