import {
  defer,
  filter,
  map,
  Observable,
  type Observer,
  type Subject,
  Subscriber,
  type Subscription,
  startWith,
} from 'rxjs';
import type { ClientCounts, LifecycleEvent } from './types.js';

/**
 * `events$`: every lifecycle event, as one stream that completes when the supervisor has closed.
 * The source multicasts already; this hides it behind a read-only Observable.
 */
export function createEventStream(
  source: Subject<LifecycleEvent>,
  onSubscriberError: (error: unknown, event: LifecycleEvent) => void,
): Observable<LifecycleEvent> {
  return new GuardedEventStream(source, onSubscriberError);
}

/**
 * `events$`: the subject's events, where a subscriber that throws is caught and reported through
 * `onSubscriberError` instead of rxjs's unhandled-error path (which, unless
 * `config.onUnhandledError` is set, rethrows in a timer: a crash for a Node process). Applies to
 * observers given straight to `subscribe()`; in a `pipe()` chain the last `subscribe()` belongs to
 * the piped Observable, so its throws follow rxjs's rules.
 */
class GuardedEventStream extends Observable<LifecycleEvent> {
  constructor(
    source: Subject<LifecycleEvent>,
    private readonly onSubscriberError: (error: unknown, event: LifecycleEvent) => void,
  ) {
    super((subscriber) => source.subscribe(subscriber));
  }

  // any[]: rxjs's overloads (an observer, or the deprecated next/error/complete)
  override subscribe(...args: any[]): Subscription {
    const [first, error, complete] = args;
    // an operator's or another Observable's subscriber: pass it on as it is, so that its
    // teardown chain stays linked (it never throws into us: rxjs guards what is behind it)
    if (first instanceof Subscriber) return super.subscribe(first);
    const observer: Partial<Observer<LifecycleEvent>> =
      typeof first === 'function'
        ? { next: first, error: error ?? undefined, complete: complete ?? undefined }
        : (first ?? {});
    return super.subscribe({
      next: (event) => {
        try {
          observer.next?.(event);
        } catch (thrown) {
          this.onSubscriberError(thrown, event);
        }
      },
      error: (err) => observer.error?.(err),
      complete: () => observer.complete?.(),
    });
  }
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
