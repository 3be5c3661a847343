import fc from 'fast-check';
import { type Socket as ClientSocket, io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import type { LifecycleEvent } from '../src/index.js';
import { eventually } from './helpers/eventually.js';
import { type Harness, once, startHarness } from './helpers/io.js';
import { range, tickPage } from './helpers/page.js';

// supervisor.to(clientId).emit(): messages to a client, once and in order through drops, swaps
// and reconnects, with real sockets and the real browser helper.

let h: Harness | undefined;
const opened: ClientSocket[] = [];
afterEach(async () => {
  for (const socket of opened.splice(0)) socket.disconnect();
  await h?.close();
  h = undefined;
});

/** A page: a socket.io-client socket under the browser helper, recording the `n` of every `tick` it processes. */
function page(credentials: { clientId: string; token: string }, ackDelay = 20) {
  const socket = io(h!.url, {
    autoConnect: false,
    forceNew: true,
    transports: ['websocket'],
    reconnectionDelay: 20,
    reconnectionDelayMax: 20,
  });
  opened.push(socket);
  return tickPage(socket, credentials, ackDelay);
}

describe('to(clientId).emit()', () => {
  it('should deliver at once while connected, and let the server forget what the page acknowledged', async () => {
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const p = page(credentials);
    await eventually(() => expect(p.states).toContain('connected'));
    for (const n of range(1, 50)) expect(h.supervisor.to(credentials.clientId).emit('tick', n)).toBe(true);
    await eventually(() => expect(p.received).toEqual(range(1, 50)));
    await eventually(() =>
      expect(h!.supervisor.get(credentials.clientId)?.outbox).toEqual({ depth: 0, oldestAt: null }),
    );
    expect(h.supervisor.stats().delivery).toMatchObject({ sent: 50, acked: 50, undelivered: 0, ignoredAcks: 0 });
  });

  it('should send any number of arguments as given, at once and again after a reconnect', async () => {
    // the outbox keeps one or two arguments in columns of its ring and more as an array (issue 21)
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const p = page(credentials, 10_000); // no acknowledgement: the reconnect sends them all again
    const shapes: unknown[][] = [];
    p.client.on('shape', (...args: unknown[]) => shapes.push(args));
    await eventually(() => expect(p.states).toContain('connected'));
    const sent: unknown[][] = [[], [1], ['a', { b: [2] }], [1, undefined], [1, 'two', [3]], [1, 2, 3, { four: 4 }]];
    // what socket.io delivers: undefined as an argument arrives as null
    const expected = [[], [1], ['a', { b: [2] }], [1, null], [1, 'two', [3]], [1, 2, 3, { four: 4 }]];
    for (const args of sent) expect(h.supervisor.to(credentials.clientId).emit('shape', ...args)).toBe(true);
    await eventually(() => expect(shapes).toEqual(expected));
    expect(h.supervisor.get(credentials.clientId)?.outbox.depth).toBe(sent.length);
    // a page that lost everything it had (a new tab of the same client) gets it all again, as sent
    const again = page(credentials);
    const reshapes: unknown[][] = [];
    again.client.on('shape', (...args: unknown[]) => reshapes.push(args));
    await eventually(() => expect(reshapes).toEqual(expected));
  });

  it('should keep messages sent during the grace period and deliver them after the reconnect, once and in order', async () => {
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const p = page(credentials);
    await eventually(() => expect(p.states).toContain('connected'));
    h.supervisor.to(credentials.clientId).emit('tick', 1);
    await eventually(() => expect(p.received).toEqual([1]));
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.outbox.depth).toBe(0));
    p.socket.io.reconnection(false);
    p.socket.io.engine.close();
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.state).toBe('disconnected'));
    for (const n of range(2, 30)) h.supervisor.to(credentials.clientId).emit('tick', n);
    expect(h.supervisor.get(credentials.clientId)?.outbox.depth).toBe(29);
    p.socket.io.reconnection(true);
    p.socket.connect();
    await eventually(() => expect(p.received).toEqual(range(1, 30)));
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.outbox.depth).toBe(0));
  });

  it('should lose and duplicate nothing when the socket drops with messages in flight', async () => {
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const p = page(credentials, 1000);
    await eventually(() => expect(p.states).toContain('connected'));
    // 200 messages go out and the transport is cut while they travel; acks are slow (1 s), so
    // the server still holds them all and re-sends every one on the new socket
    for (const n of range(1, 200)) h.supervisor.to(credentials.clientId).emit('tick', n);
    p.socket.io.engine.close();
    for (const n of range(201, 250)) h.supervisor.to(credentials.clientId).emit('tick', n);
    await eventually(() => expect(p.received).toEqual(range(1, 250)));
    expect(h.supervisor.stats().delivery.resent).toBeGreaterThan(0);
  });

  it('should deliver neither twice nor out of order when another socket takes the client over mid-flush', async () => {
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const first = page(credentials, 5);
    await eventually(() => expect(first.states).toContain('connected'));
    for (const n of range(1, 20)) h.supervisor.to(credentials.clientId).emit('tick', n);
    await eventually(() => expect(first.received).toEqual(range(1, 20)));
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.outbox.depth).toBe(0));
    first.socket.io.reconnection(false);
    first.socket.io.engine.close();
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.state).toBe('disconnected'));
    for (const n of range(21, 300)) h.supervisor.to(credentials.clientId).emit('tick', n);
    // a duplicated tab with the same credentials connects while the first reconnects: whichever
    // comes second swaps the first out in the middle of its flush
    first.socket.io.reconnection(true);
    first.socket.connect();
    const second = page(credentials, 5);
    await eventually(() => expect(first.states.includes('replaced') || second.states.includes('replaced')).toBe(true));
    const winner = first.states.includes('replaced') ? second : first;
    const loser = winner === first ? second : first;
    await eventually(() => expect(winner.received.at(-1)).toBe(300));
    for (const seen of [first.received, second.received]) {
      // each page: strictly increasing (no message twice, none out of order)
      expect(seen.every((n, i) => i === 0 || n === seen[i - 1]! + 1)).toBe(true);
    }
    // the page that holds the client has everything after what the other page acknowledged
    expect(winner.received.length + (winner === second ? 20 : 0)).toBeGreaterThanOrEqual(280);
    expect(loser.states.at(-1)).toBe('replaced');
  });

  it('should delete a client whose outbox overflows, tell its page, and report what was undelivered', async () => {
    h = await startHarness({ reconnectTimeout: 5000, outbox: { maxMessages: 10 } });
    const credentials = h.supervisor.register();
    const p = page(credentials);
    await eventually(() => expect(p.states).toContain('connected'));
    p.socket.io.reconnection(false);
    p.socket.io.engine.close();
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.state).toBe('disconnected'));
    const events: LifecycleEvent[] = [];
    h.supervisor.events$.subscribe((event) => events.push(event));
    const accepted = range(1, 11).map((n) => h!.supervisor.to(credentials.clientId).emit('tick', n));
    expect(accepted).toEqual([...Array(10).fill(true), false]);
    expect(h.supervisor.get(credentials.clientId)).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['deleted', 'undelivered']);
    expect(events[0]).toMatchObject({ reason: 'outbox-overflow' });
    expect(events[1]).toMatchObject({ count: 11, reason: 'outbox-overflow' });
    // the page learns it when it comes back: a reload is the only honest answer to a gap
    p.socket.connect();
    await eventually(() => expect(p.client.state).toBe('deleted'));
    expect(p.client.detail.code).toBe('CLIENT_DELETED');
  });

  it('should delete a page that never acknowledges once its outbox is full', async () => {
    h = await startHarness({ outbox: { maxMessages: 1000, maxBytes: 10_000 } });
    const credentials = h.supervisor.register();
    const socket = io(h.url, { forceNew: true, transports: ['websocket'], reconnection: false, auth: credentials });
    opened.push(socket);
    await once(socket, 'connect');
    const deleted = once<{ reason: string }>(socket, 'supervisor:deleted');
    let sent = 0;
    while (h.supervisor.to(credentials.clientId).emit('tick', 'x'.repeat(100))) sent += 1;
    expect(sent).toBeGreaterThan(50);
    expect((await deleted).reason).toBe('outbox-overflow');
  });

  it("should ignore and count acknowledgements of sequence numbers never sent to the socket's client", async () => {
    h = await startHarness();
    const a = h.supervisor.register();
    const b = h.supervisor.register();
    for (const n of range(1, 5)) h.supervisor.to(a.clientId).emit('tick', n);
    const socket = io(h.url, { forceNew: true, transports: ['websocket'], reconnection: false, auth: b });
    opened.push(socket);
    await once(socket, 'connect');
    // b was sent nothing: acks of a's numbers (or of anything) from b's socket change nothing of a's
    socket.emit('supervisor:ack', 5);
    socket.emit('supervisor:ack', 'all');
    socket.emit('supervisor:ack', -1);
    await eventually(() => expect(h!.supervisor.stats().delivery.ignoredAcks).toBe(3));
    expect(h.supervisor.get(a.clientId)?.outbox.depth).toBe(5);
  });

  it('should return false and report undelivered for a deleted or unknown client, and drop an outbox with its client', async () => {
    h = await startHarness();
    const events: LifecycleEvent[] = [];
    h.supervisor.events$.subscribe((event) => events.push(event));
    const { clientId } = h.supervisor.register();
    h.supervisor.to(clientId).emit('tick', 1);
    h.supervisor.to(clientId).emit('tick', 2);
    h.supervisor.delete(clientId, 'kicked');
    expect(h.supervisor.to(clientId).emit('tick', 3)).toBe(false);
    expect(h.supervisor.to('A'.repeat(22)).emit('tick', 4)).toBe(false);
    expect(events.filter((e) => e.type === 'undelivered')).toMatchObject([
      { clientId, count: 2, reason: 'kicked' },
      { clientId, count: 1, reason: 'already-deleted' },
      { clientId: 'A'.repeat(22), count: 1, reason: 'unknown-client' },
    ]);
    expect(h.supervisor.stats().delivery.undelivered).toBe(4);
    expect(internalsOf(h.supervisor).store.size).toBe(0);
  });

  it('should name what socket.io cannot send', async () => {
    h = await startHarness();
    const { clientId } = h.supervisor.register();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: Array<[unknown[], RegExp]> = [
      [[() => {}], /argument 1 is function/],
      [[{ a: { b: 1n } }], /argument 1\.a\.b is bigint/],
      [[1, cyclic], /argument 2\.self refers back to itself/],
      [[new Map()], /argument 1 is a Map, which JSON sends as \{\}/],
      [[[1, undefined]], /argument 1\[1\] is undefined/],
    ];
    for (const [args, message] of cases) {
      expect(() => h!.supervisor.to(clientId).emit('tick', ...args)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }),
      );
    }
    expect(() => h!.supervisor.to(clientId).emit('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // binary data, dates and plain JSON are fine
    expect(h.supervisor.to(clientId).emit('tick', Buffer.from('bin'), new Date(0), { a: [1, 'b', null] })).toBe(true);
  });
});

describe('acknowledgements on demand (supervisor:ack-request)', () => {
  it.each([
    ['maxBytes', { maxMessages: 1000, maxBytes: 100_000 }, 'x'.repeat(10_000)],
    ['maxMessages', { maxMessages: 20 }, 'x'],
  ] as const)(
    'should ask a page that acknowledges rarely past half of %s, so a stream it keeps up with never overflows',
    async (_bound, outbox, text) => {
      h = await startHarness({ reconnectTimeout: 5000, outbox });
      const credentials = h.supervisor.register();
      // its timer alone would acknowledge after 10 s, long after the bound: 11 messages reach it
      const p = page(credentials, 10_000);
      await eventually(() => expect(p.states).toContain('connected'));
      for (const n of range(1, 60)) {
        expect(h.supervisor.to(credentials.clientId).emit('tick', n, text)).toBe(true);
        await eventually(() => expect(p.received.at(-1)).toBe(n));
      }
      expect(p.received).toEqual(range(1, 60));
      expect(h.supervisor.get(credentials.clientId)?.state).toBe('connected');
      expect(h.supervisor.stats().delivery.acked).toBeGreaterThanOrEqual(50);
    },
  );

  it('should ask once while a request is outstanding, again after an acknowledgement or a second, and leave a page that ignores it to its own acknowledgements', async () => {
    h = await startHarness({ reconnectTimeout: 5000, outbox: { maxMessages: 10 } });
    const credentials = h.supervisor.register();
    const { clientId } = credentials;
    // an older helper: it processes the messages and acknowledges when it decides (here: when the
    // test says), with no listener of the request; the requests are only counted
    const socket = io(h.url, { forceNew: true, transports: ['websocket'], reconnection: false, auth: credentials });
    opened.push(socket);
    const received: number[] = [];
    let requests = 0;
    socket.on('supervisor:message', (_seq: number, _event: string, n: number) => received.push(n));
    socket.on('supervisor:ack-request', () => {
      requests += 1;
    });
    await once(socket, 'connect');
    for (const n of range(1, 9)) expect(h.supervisor.to(clientId).emit('tick', n)).toBe(true);
    await eventually(() => expect(received).toEqual(range(1, 9)));
    // the request goes out after the message that passed half (the 6th), before the next: depths
    // 6 to 9 were past half, one request
    expect(requests).toBe(1);
    socket.emit('supervisor:ack', 9);
    await eventually(() => expect(h!.supervisor.get(clientId)?.outbox.depth).toBe(0));
    // an acknowledgement answers the request: past half again, the page is asked again
    for (const n of range(10, 16)) expect(h.supervisor.to(clientId).emit('tick', n)).toBe(true);
    await eventually(() => expect(received).toEqual(range(1, 16)));
    expect(requests).toBe(2);
    // unanswered, it is sent again after a second, with the next message past half
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(h.supervisor.to(clientId).emit('tick', 17)).toBe(true);
    await eventually(() => expect(received).toEqual(range(1, 17)));
    expect(requests).toBe(3);
    // the page's own acknowledgement is all the server needs: everything was delivered, nothing lost
    socket.emit('supervisor:ack', 17);
    await eventually(() => expect(h!.supervisor.get(clientId)?.outbox.depth).toBe(0));
    expect(h.supervisor.get(clientId)?.state).toBe('connected');
    expect(h.supervisor.stats().delivery).toMatchObject({ sent: 17, acked: 17, undelivered: 0, ignoredAcks: 0 });
  });

  it('should ask a page that comes back to a backlog past half at once, not after its ackDelay', async () => {
    h = await startHarness({ reconnectTimeout: 5000, outbox: { maxMessages: 10 } });
    const credentials = h.supervisor.register();
    const p = page(credentials, 10_000);
    await eventually(() => expect(p.states).toContain('connected'));
    p.socket.io.reconnection(false);
    p.socket.io.engine.close();
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.state).toBe('disconnected'));
    for (const n of range(1, 8)) expect(h.supervisor.to(credentials.clientId).emit('tick', n)).toBe(true);
    p.socket.connect();
    await eventually(() => expect(p.received).toEqual(range(1, 8)));
    // acknowledged within a round trip, not after the page's 10 s
    await eventually(() => expect(h!.supervisor.get(credentials.clientId)?.outbox.depth).toBe(0), 3000);
  });
});

describe('to(clientId).emit() under random drops, reconnects and takeovers', () => {
  it('should give the page exactly the sent sequence, whatever the interleaving, as long as the client lives', async () => {
    type Step = { op: 'emit'; count: number } | { op: 'drop' } | { op: 'reconnect' } | { op: 'wait' };
    const steps = fc.array(
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({ op: fc.constant('emit' as const), count: fc.integer({ min: 1, max: 20 }) }),
        },
        { weight: 1, arbitrary: fc.constant({ op: 'drop' as const }) },
        { weight: 1, arbitrary: fc.constant({ op: 'reconnect' as const }) },
        { weight: 1, arbitrary: fc.constant({ op: 'wait' as const }) },
      ) as fc.Arbitrary<Step>,
      { minLength: 3, maxLength: 12 },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(steps, fc.integer({ min: 0, max: 30 }), async (plan, ackDelay) => {
        h = await startHarness({ reconnectTimeout: 10_000 });
        try {
          const credentials = h.supervisor.register();
          const p = page(credentials, ackDelay);
          let sent = 0;
          for (const step of plan) {
            if (step.op === 'emit') {
              for (let i = 0; i < step.count; i += 1)
                expect(h.supervisor.to(credentials.clientId).emit('tick', ++sent)).toBe(true);
            } else if (step.op === 'drop') {
              if (p.socket.connected) p.socket.io.engine.close();
            } else if (step.op === 'reconnect') {
              if (!p.socket.connected) p.socket.connect();
            } else await new Promise((resolve) => setTimeout(resolve, 10));
          }
          if (!p.socket.connected) p.socket.connect();
          await eventually(() => expect(p.received).toEqual(range(1, sent)));
          runs += 1;
        } finally {
          for (const socket of opened.splice(0)) socket.disconnect();
          await h.close();
          h = undefined;
        }
      }),
      { numRuns: 30, seed: 20261126 },
    );
    expect(runs).toBe(30);
  });
});
