import { defer, filter, map, type Observable, type Subject, startWith } from 'rxjs';
import type { ClientCounts, LifecycleEvent } from '../types.js';

/**
 * `events$`: every lifecycle event, as one stream that completes when the supervisor has closed.
 * The source multicasts already; this hides it behind a read-only Observable.
 */
export function createEventStream(source: Subject<LifecycleEvent>): Observable<LifecycleEvent> {
  return source.asObservable();
}

const COUNTED: ReadonlySet<LifecycleEvent['type']> = new Set([
  'registered',
  'connected',
  'reconnected',
  'disconnected',
  'deleted',
]);

/** `counts$`: the counts on subscribe, then again after every event that changes them. */
export function createCountStream(
  events$: Observable<LifecycleEvent>,
  counts: () => ClientCounts,
): Observable<ClientCounts> {
  return defer(() =>
    events$.pipe(
      filter((event) => COUNTED.has(event.type)),
      map(() => counts()),
      startWith(counts()),
    ),
  );
}
