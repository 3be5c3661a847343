import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IdleEntry, IdleQueue } from '../src/core/idleQueue.js';

interface Holder {
  id: number;
  idle: IdleEntry<Holder> | null;
}

describe('IdleQueue', () => {
  it('should keep two queues in push order, a holder in one of them at most, as two lists would', () => {
    type Op = { op: 'push'; id: number; queue: 0 | 1 } | { op: 'remove'; id: number } | { op: 'shift'; queue: 0 | 1 };
    const queueIndex = fc.constantFrom(0 as const, 1 as const);
    const ops = fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ op: fc.constant('push' as const), id: fc.nat(12), queue: queueIndex }) },
        fc.record({ op: fc.constant('remove' as const), id: fc.nat(12) }),
        fc.record({ op: fc.constant('shift' as const), queue: queueIndex }),
      ) as fc.Arbitrary<Op>,
      { minLength: 10, maxLength: 100 },
    );
    fc.assert(
      fc.property(ops, (script) => {
        const holders: Holder[] = Array.from({ length: 13 }, (_, id) => ({ id, idle: null }));
        const queues = [new IdleQueue<Holder>(), new IdleQueue<Holder>()] as const;
        const model: [Array<{ id: number; at: number }>, Array<{ id: number; at: number }>] = [[], []];
        const without = (id: number) => {
          model[0] = model[0].filter((entry) => entry.id !== id);
          model[1] = model[1].filter((entry) => entry.id !== id);
        };
        let at = 0;
        for (const step of script) {
          at += 1;
          if (step.op === 'push') {
            without(step.id);
            model[step.queue].push({ id: step.id, at });
            queues[step.queue].push(holders[step.id]!, at);
          } else if (step.op === 'remove') {
            const held = model[0].concat(model[1]).some((entry) => entry.id === step.id);
            without(step.id);
            expect(IdleQueue.remove(holders[step.id]!)).toBe(held);
          } else {
            const first = model[step.queue].shift();
            expect(queues[step.queue].shift()?.id).toBe(first?.id);
          }
          for (const index of [0, 1] as const) {
            expect(queues[index].size).toBe(model[index].length);
            const head = queues[index].peek();
            expect(head ? { id: head.holder.id, at: head.at } : undefined).toEqual(model[index][0]);
          }
          for (const holder of holders) {
            const queued = model[0].concat(model[1]).some((entry) => entry.id === holder.id);
            expect(holder.idle !== null).toBe(queued);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
