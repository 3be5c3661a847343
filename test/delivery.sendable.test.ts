import { describe, expect, it } from 'vitest';
import { sendableSize } from '../src/core/sendable.js';

// sendableSize sizes what sends as it is in a quick walk that keeps no path and no set of
// ancestors (issue 21), and walks again to explain only what it refuses: both walks must agree
// on every size (the outbox's maxBytes counts them) and on every refusal.
class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}
const nested = (levels: number): unknown => (levels === 0 ? 1 : { d: nested(levels - 1) });
const nestedArray = (levels: number): unknown => (levels === 0 ? 'x' : [nestedArray(levels - 1)]);
const shared = { s: 'shared' };

describe('sendableSize', () => {
  it('should size JSON values, binary data and what toJSON() returns, as the explaining walk does', () => {
    const cases: Array<[unknown[], number]> = [
      [[1, 'abc', true, null, undefined, Number.NaN], 26],
      [[7, { text: 'a message of a modest size', at: 3 }], 60],
      [[{ user: { name: 'ann', tags: ['a', 'b', null], score: 1.5, ok: false, gone: undefined } }], 84],
      // biome-ignore lint/suspicious/noSparseArray: a hole, which JSON sends as null
      [[[1, , 3]], 20],
      [[new Date(0), { when: new Date(1) }], 62],
      [[{ toJSON: () => ({ x: [1, 2] }) }], 27],
      [[Buffer.from('bin'), { b: new Uint8Array(10), a: new ArrayBuffer(7) }], 80],
      [[new Point(1, 2), Object.assign(Object.create(null), { a: 1, b: 'two' })], 53],
      [[[shared, shared], { a: shared }], 56],
      [[nested(63)], 449],
      [[nestedArray(64)], 195],
    ];
    for (const [args, size] of cases) expect(sendableSize(args)).toBe(size);
    expect(sendableSize([{ x: [Buffer.from('a')] }])).toBe(27);
  });

  it('should name what it refuses, wherever the quick walk stopped', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const cases: Array<[unknown[], RegExp]> = [
      [[() => {}], /^argument 1 is function/],
      [[{ a: { b: 1n } }], /^argument 1\.a\.b is bigint/],
      [[[Symbol('s')]], /^argument 1\[0\] is symbol/],
      [[1, cyclic], /^argument 2\.self\.back refers back to itself \(a cycle\)$/],
      [[{ m: new Map() }], /^argument 1\.m is a Map, which JSON sends as \{\}/],
      [[[new Set()]], /^argument 1\[0\] is a Set/],
      [[new WeakMap()], /^argument 1 is a WeakMap/],
      [[[1, undefined]], /^argument 1\[1\] is undefined, which JSON sends as null$/],
      [[nested(65)], new RegExp(`^argument 1${'\\.d'.repeat(64)} is nested deeper than 64 levels$`)],
      [[nestedArray(66)], new RegExp(`^argument 1${'\\[0\\]'.repeat(64)} is nested deeper than 64 levels$`)],
    ];
    for (const [args, message] of cases) {
      expect(() => sendableSize(args)).toThrow(message);
      expect(() => sendableSize(args, { binary: false })).toThrow(message);
    }
    expect(() => sendableSize([{ x: [Buffer.from('a')] }], { binary: false })).toThrow(
      /^argument 1\.x\[0\] is binary data \(a Buffer\), which cluster mode cannot keep/,
    );
    // what a toJSON() throws is the caller's own error, as from JSON.stringify, and thrown once
    const own = new Error('not today');
    let calls = 0;
    expect(() =>
      sendableSize([
        {
          toJSON() {
            calls += 1;
            throw own;
          },
        },
      ]),
    ).toThrow(own);
    expect(calls).toBe(1);
  });
});
