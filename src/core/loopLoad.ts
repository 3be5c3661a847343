import { getHeapStatistics } from 'node:v8';

/** What `performance.eventLoopUtilization()` returns (Node); absent elsewhere. */
interface Utilization {
  idle: number;
  active: number;
  utilization: number;
}

type Measure = (current?: Utilization, previous?: Utilization) => Utilization | undefined;

/** At or above this share of wall time spent running (not waiting for I/O), the loop is saturated. */
export const SATURATED = 0.9;

/**
 * At or above this share of V8's heap limit in use, a saturated loop no longer holds passivation
 * back: the bound on what a burst may keep live (memory before speed).
 */
export const HEAP_PRESSURE = 0.5;

/** The share of V8's heap limit in use (`node:v8`'s heap statistics). */
function heapShare(): number {
  const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics();
  return limit > 0 ? used / limit : 0;
}

/**
 * Whether the host's event loop has been saturated since the previous call: its utilization
 * (Node's `performance.eventLoopUtilization()`, the share of time the loop spent running rather
 * than waiting for I/O) over that window at or above {@link SATURATED}. The passivation policy
 * asks it only when idle actors are due, so it costs nothing per event.
 *
 * `false` where the host has no such measure (other runtimes), and under fake timers, which
 * replace `performance` (read at each call, so timers faked later are honoured). `false` too
 * while the heap in use is at or above {@link HEAP_PRESSURE} of V8's limit, whatever the loop:
 * a burst that never lets up keeps its actors live only as long as the heap has room for them
 * (`heapInUse` is for tests).
 */
export function createSaturationProbe(heapInUse: () => number = heapShare): () => boolean {
  let previous: Utilization | undefined;
  return function saturated(): boolean {
    const measure = (globalThis.performance as { eventLoopUtilization?: Measure } | undefined)?.eventLoopUtilization;
    const now = typeof measure === 'function' ? measure.call(globalThis.performance) : undefined;
    if (now === undefined || typeof now.utilization !== 'number') return false;
    const window = previous === undefined ? now : measure!.call(globalThis.performance, now, previous);
    previous = now;
    return window !== undefined && window.utilization >= SATURATED && heapInUse() < HEAP_PRESSURE;
  };
}
