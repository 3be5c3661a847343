import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers/io.js';

// Hostile handshakes over real sockets: whatever the `auth` object holds, the socket is turned
// away with a code (or, past socket.io's own size limit, its transport is closed), nothing is
// stored, no prototype is polluted and the server carries on.

const RUNS = process.env.FC_DEEP === '1' ? 2000 : 150;
let h: Harness;
let tried = 0;
const outcomes = new Map<string, number>();

beforeAll(async () => {
  h = await startHarness({ rateLimit: false });
});
afterAll(async () => {
  await h.close();
  process.stdout.write(`hostile handshakes tried: ${tried} (${JSON.stringify(Object.fromEntries(outcomes))})\n`);
});

const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '\u0000', '\u202e', 'A'.repeat(22), ''),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(1e300),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, nasty, tie('array'), tie('object')),
  array: fc.array(tie('any'), { maxLength: 4 }),
  object: fc.dictionary(
    fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'clientId', 'token', 'tabId')),
    tie('any'),
    { maxKeys: 5 },
  ),
})).any;
const auth = fc.oneof(
  fc.dictionary(fc.constantFrom('clientId', 'token', 'tabId', '__proto__', 'constructor', 'extra'), value, {
    maxKeys: 4,
  }),
  fc.record({ clientId: value, token: value }),
  fc.record({
    clientId: fc.string({ minLength: 22, maxLength: 22 }),
    token: fc.string({ minLength: 22, maxLength: 22 }),
  }),
  fc.record({ tabId: value }),
  // deep nesting
  fc.integer({ min: 50, max: 500 }).map((depth) => {
    let nested: unknown = 'bottom';
    for (let i = 0; i < depth; i += 1) nested = { clientId: nested };
    return nested as Record<string, unknown>;
  }),
);

function outcome(authPayload: unknown): Promise<{ code: string | undefined; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = h.connect(authPayload);
    const timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`no answer for auth ${JSON.stringify(authPayload)?.slice(0, 200)}`));
    }, 5000);
    let settled = false;
    const done = (result: { code: string | undefined; closed: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.disconnect();
      resolve(result);
    };
    socket.on('connect', () => done({ code: 'CONNECTED', closed: false }));
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) =>
      done({ code: error.data?.code, closed: error.data?.code === undefined }),
    );
    // a payload over socket.io's own maxHttpBufferSize: the server closes the transport. The
    // client also closes its manager ("forced close") right before emitting connect_error, so
    // a close only counts when no connect_error follows
    socket.io.on('close', () => setTimeout(() => done({ code: undefined, closed: true }), 100));
  });
}

describe('hostile handshakes', () => {
  it(`should turn away ${RUNS} random hostile auth payloads with a code, storing nothing`, async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    await fc.assert(
      fc.asyncProperty(auth, async (payload) => {
        tried += 1;
        const { code, closed } = await outcome(payload);
        const key = closed ? 'transport closed by socket.io' : code!;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        // a rejection with a code; or, for payloads socket.io itself refuses, a closed transport
        expect(closed || ['INVALID_HANDSHAKE', 'UNKNOWN_CLIENT'].includes(code!), `code ${code}`).toBe(true);
        expect(code).not.toBe('CONNECTED');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.hasOwn(Object.prototype, 'clientId')).toBe(false);
        expect(h.supervisor.list()).toEqual([]);
      }),
      { numRuns: RUNS, seed: 424242 },
    );
    const rejected = h.supervisor.stats().rejected;
    expect((rejected.INVALID_HANDSHAKE ?? 0) + (rejected.UNKNOWN_CLIENT ?? 0)).toBeGreaterThan(RUNS / 2);
    // memory stays bounded: nothing per rejected handshake is kept (generous bound, one process)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 2 ** 20);
  }, 120_000);

  it('should turn away a 1 MB clientId and a 1 MB tabId without storing them', async () => {
    for (const payload of [{ clientId: 'x'.repeat(2 ** 20), token: 'y'.repeat(22) }, { tabId: 'z'.repeat(2 ** 20) }]) {
      tried += 1;
      const { code, closed } = await outcome(payload);
      // over socket.io's maxHttpBufferSize (1 MB) the transport is closed before our middleware
      expect(closed || code === 'INVALID_HANDSHAKE').toBe(true);
    }
    expect(h.supervisor.list()).toEqual([]);
  });

  it('should still serve a legitimate client after all that', async () => {
    const credentials = h.supervisor.register();
    expect((await outcome(credentials)).code).toBe('CONNECTED');
  });
});
