import { defer, filter, map, Observable, share, startWith } from 'rxjs';
import type { SupervisorActor } from '../machines/supervisor.machine.js';
import type { ClientCounts, LifecycleEvent } from '../types.js';

/**
 * `events$`: every lifecycle event the supervisor actor emits, as one shared rxjs stream that
 * completes when the supervisor has closed. Built on the actor's own `on('*')` and
 * `subscribe()`; no Subject of our own.
 */
export function createEventStream(actor: SupervisorActor): Observable<LifecycleEvent> {
  return new Observable<LifecycleEvent>((subscriber) => {
    if (actor.getSnapshot().status !== 'active') {
      subscriber.complete();
      return;
    }
    const emitted = actor.on('*', (event) => subscriber.next(event));
    const lifetime = actor.subscribe({
      complete: () => subscriber.complete(),
      error: (error) => subscriber.error(error),
    });
    return () => {
      emitted.unsubscribe();
      lifetime.unsubscribe();
    };
  }).pipe(share());
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
