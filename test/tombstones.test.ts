import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tombstones } from '../src/store/tombstones.js';

describe('Tombstones', () => {
  it('should hold what a list of (id, expiry) in laying order holds, through growth, wrap-around and shrinking', () => {
    type Op =
      | { op: 'add'; id: number; step: number }
      | { op: 'delete'; id: number }
      | { op: 'expire'; step: number; max: number }
      | { op: 'burst'; count: number };
    const ops = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), id: fc.nat(40), step: fc.nat(3) }) },
        fc.record({ op: fc.constant('delete' as const), id: fc.nat(40) }),
        fc.record({ op: fc.constant('expire' as const), step: fc.nat(20), max: fc.integer({ min: 0, max: 60 }) }),
        // enough at once to grow the ring past its first sizes (and shrink it again once expired)
        fc.record({ op: fc.constant('burst' as const), count: fc.integer({ min: 10, max: 200 }) }),
      ) as fc.Arbitrary<Op>,
      { minLength: 10, maxLength: 150 },
    );
    fc.assert(
      fc.property(ops, (script) => {
        const tombstones = new Tombstones();
        let model: Array<{ id: string; at: number }> = [];
        let now = 0;
        const ttl = 10;
        const lay = (id: string) => {
          model = model.filter((entry) => entry.id !== id);
          model.push({ id, at: now + ttl });
          tombstones.add(id, now + ttl);
        };
        for (const step of script) {
          if (step.op === 'add') {
            now += step.step;
            lay(`c${step.id}`);
          } else if (step.op === 'burst') {
            for (let i = 0; i < step.count; i += 1) lay(`b${now}-${i}`);
          } else if (step.op === 'delete') {
            model = model.filter((entry) => entry.id !== `c${step.id}`);
            tombstones.delete(`c${step.id}`);
          } else {
            now += step.step;
            let expired = 0;
            while (model.length > 0 && (model[0]!.at <= now || model.length > step.max)) {
              model.shift();
              expired += 1;
            }
            expect(tombstones.expire(now, step.max)).toBe(expired);
          }
          expect(tombstones.size).toBe(model.length);
          for (let id = 0; id <= 40; id += 1) {
            const entry = model.find((candidate) => candidate.id === `c${id}`);
            expect(tombstones.holds(`c${id}`, now)).toBe(entry !== undefined && entry.at > now);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('should forget every tombstone on clear', () => {
    const tombstones = new Tombstones();
    for (let i = 0; i < 100; i += 1) tombstones.add(`c${i}`, 50);
    tombstones.clear();
    expect(tombstones.size).toBe(0);
    expect(tombstones.holds('c1', 0)).toBe(false);
    tombstones.add('c1', 50);
    expect(tombstones.holds('c1', 0)).toBe(true);
  });
});
