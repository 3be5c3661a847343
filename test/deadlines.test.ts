import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DeadlineHolder, DeadlineIndex } from '../src/store/deadlineIndex.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

describe('DeadlineIndex', () => {
  // compactMin 2: deleted entries are left in place and compacted away often (lazy deletion)
  it.each([1024, 2])(
    'should hand out deadlines earliest first whatever order they were set in (compactMin %i)',
    (compactMin) => {
      type Op =
        | { op: 'set'; id: number; at: number }
        | { op: 'delete'; id: number }
        | { op: 'take'; now: number; limit: number }
        | { op: 'due'; now: number };
      const ops = fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('set' as const), id: fc.nat(30), at: fc.integer({ min: 0, max: 1000 }) }),
          fc.record({ op: fc.constant('delete' as const), id: fc.nat(30) }),
          fc.record({
            op: fc.constant('take' as const),
            now: fc.integer({ min: 0, max: 1000 }),
            limit: fc.integer({ min: 1, max: 5 }),
          }),
          fc.record({ op: fc.constant('due' as const), now: fc.integer({ min: 0, max: 1000 }) }),
        ) as fc.Arbitrary<Op>,
        { minLength: 20, maxLength: 200 },
      );
      let checked = 0;
      fc.assert(
        fc.property(ops, (sequence) => {
          const index = new DeadlineIndex(compactMin);
          // each client's holder (a record, in a store), made on first use
          const holders = new Map<string, DeadlineHolder>();
          const holder = (clientId: string) => {
            let found = holders.get(clientId);
            if (!found) {
              found = { clientId, deadlineSlot: -1 };
              holders.set(clientId, found);
            }
            return found;
          };
          // the reference: a plain map, sorted on every read
          const reference = new Map<string, number>();
          const sorted = () => [...reference].sort((a, b) => a[1] - b[1]);
          for (const step of sequence) {
            if (step.op === 'set') {
              index.set(holder(`c${step.id}`), step.at, step.id);
              reference.set(`c${step.id}`, step.at);
            } else if (step.op === 'delete') {
              expect(index.delete(holder(`c${step.id}`))).toBe(reference.delete(`c${step.id}`));
            } else if (step.op === 'take') {
              const taken = index.take(step.now, step.limit);
              const expected = sorted()
                .filter(([, at]) => at <= step.now)
                .slice(0, step.limit);
              // earliest first; among equal times any order
              expect(taken.map((d) => d.at)).toEqual(expected.map(([, at]) => at));
              for (const deadline of taken) {
                expect(reference.get(deadline.clientId)).toBe(deadline.at);
                reference.delete(deadline.clientId);
              }
            } else {
              const due = index.due(step.now).sort();
              const expected = sorted()
                .filter(([, at]) => at <= step.now)
                .map(([id]) => id)
                .sort();
              expect(due).toEqual(expected);
            }
            expect(index.size).toBe(reference.size);
            expect(index.peek()?.at).toBe(sorted()[0]?.[1]);
            checked += 1;
          }
        }),
        { numRuns: 200, seed: 20261126 },
      );
      expect(checked).toBeGreaterThan(1000);
    },
  );
});

describe('deadlines in any order', () => {
  beforeEach(useFakeClock);
  afterEach(() => vi.useRealTimers());

  it('should delete each client at its own deadline, even one set after a later one', async () => {
    // a handshake deadline (1000 ms) set before a reconnect deadline (100 ms) that is due first
    const t = recordedSupervisor({ handshakeTimeout: 1000, reconnectTimeout: 100 });
    const waiting = t.supervisor.register().clientId;
    vi.advanceTimersByTime(10);
    const dropped = t.supervisor.register().clientId;
    t.handshake(dropped, 's0');
    t.disconnect(dropped, 's0');
    vi.advanceTimersByTime(99);
    expect(t.supervisor.get(dropped)?.state).toBe('disconnected');
    vi.advanceTimersByTime(1);
    expect(t.supervisor.get(dropped)).toBeUndefined();
    expect(t.supervisor.get(waiting)?.state).toBe('handshaking');
    vi.advanceTimersByTime(889);
    expect(t.supervisor.get(waiting)?.state).toBe('handshaking');
    vi.advanceTimersByTime(1);
    expect(t.supervisor.get(waiting)).toBeUndefined();
    await settle();
    expect(t.deletes(dropped).map((c) => c.arg)).toEqual(['reconnect-timeout']);
    expect(t.deletes(waiting).map((c) => c.arg)).toEqual(['handshake-timeout']);
    await t.supervisor.close();
  });

  it('should not let a client outlive its grace period by more than a backward step of the clock', async () => {
    // now() is the host clock minus a step that NTP may apply at any moment
    let step = 0;
    const R = 300;
    const STEP = 5000;
    const t = recordedSupervisor({ reconnectTimeout: R, handshakeTimeout: 60_000, now: () => Date.now() - step });
    const deletedAt = new Map<string, number>();
    t.supervisor.events$.subscribe((event) => {
      if (event.type === 'deleted') deletedAt.set(event.clientId, Date.now());
    });
    const before = t.supervisor.register().clientId;
    t.handshake(before, 'a');
    const beforeDropped = Date.now();
    t.disconnect(before, 'a');
    vi.advanceTimersByTime(100);
    step = STEP; // the clock steps back 5 s
    const after = t.supervisor.register().clientId;
    t.handshake(after, 'b');
    const afterDropped = Date.now();
    t.disconnect(after, 'b');
    // `after` was dropped once the clock had stepped back: its grace period holds in full,
    // although a deadline set before the step is later in the index than its own
    vi.advanceTimersByTime(R);
    expect(deletedAt.get(after)! - afterDropped).toBe(R);
    // `before` outlives its grace period by at most the step
    vi.advanceTimersByTime(STEP);
    expect(deletedAt.has(before)).toBe(true);
    const late = deletedAt.get(before)! - beforeDropped - R;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThanOrEqual(STEP);
    await t.supervisor.close();
  });
});
