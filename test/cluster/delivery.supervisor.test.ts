import { type Socket as ClientSocket, io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterInternalsOf } from '../../src/cluster/bindings.js';
import type { LifecycleEvent } from '../../src/index.js';
import { range, tickPage } from '../helpers/page.js';
import { closeSockets, connect, connected, type HookCall, startNodes, type TestNode, waitFor } from './nodes.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// to(clientId).emit() on cluster nodes in this process (real socket.io servers, real Redis, real
// sockets and the real browser helper). Killed nodes are in delivery.scenarios.test.ts.

let redis: RedisServer;
let prefix = 0;
const nodes: TestNode[] = [];
const pages: ClientSocket[] = [];
let calls: HookCall[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const socket of pages.splice(0)) socket.disconnect();
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
  calls = [];
});
afterAll(async () => {
  await redis?.dispose();
});

async function cluster(count: number, options: Record<string, unknown> = {}): Promise<TestNode[]> {
  prefix += 1;
  const started = await startNodes(count, calls, {
    redis: redis.url,
    keyPrefix: `d${prefix}`,
    reconnectTimeout: 5000,
    ...options,
  });
  nodes.push(...started);
  return started;
}

function page(url: string, credentials: { clientId: string; token: string }, ackDelay = 10) {
  const socket = io(url, { autoConnect: false, forceNew: true, transports: ['websocket'], reconnection: false });
  pages.push(socket);
  return tickPage(socket, credentials, ackDelay);
}

describe('to(clientId).emit() on a cluster node', () => {
  it('should queue from any node while the client is away and deliver on its socket, then show an empty outbox', async () => {
    const [a, b] = await cluster(2);
    const { clientId, token } = await a!.supervisor.register();
    const emitted = b!.supervisor.to(clientId).emit('tick', 1);
    expect(emitted).toBeInstanceOf(Promise);
    expect(await emitted).toBe(true);
    expect(await a!.supervisor.to(clientId).emit('tick', 2)).toBe(true);
    const waiting = await b!.supervisor.get(clientId);
    expect(waiting?.outbox.depth).toBe(2);
    expect(waiting?.outbox.oldestAt).toBeGreaterThan(0);
    const p = page(b!.url, { clientId, token });
    await waitFor('both', () => p.received.length === 2);
    for (const n of range(3, 20)) expect(await a!.supervisor.to(clientId).emit('tick', n)).toBe(true);
    await waitFor('all', () => p.received.length === 20);
    expect(p.received).toEqual(range(1, 20));
    await waitFor('acknowledged', async () => (await a!.supervisor.get(clientId))?.outbox.depth === 0);
    // the owner's view of its clients (inspector, hooks) follows what it sent and what was acknowledged
    const owner = clusterInternalsOf(b!.supervisor).delivery;
    await waitFor('the owner saw the acks', () => owner.outboxOf(clientId).depth === 0);
    // per node: a queued 19 of them, b sent them all on the socket it holds
    expect(a!.supervisor.stats().delivery).toMatchObject({ sent: 19, resent: 0, acked: 0 });
    expect(b!.supervisor.stats().delivery).toMatchObject({ sent: 1, resent: 2, acked: 20, undelivered: 0 });
  });

  it('should move a stream with its client: a swap to another node resumes after what the first page acknowledged', async () => {
    const [a, b] = await cluster(2);
    const credentials = await a!.supervisor.register();
    const first = page(a!.url, credentials);
    await waitFor('connected', () => first.states.includes('connected'));
    for (const n of range(1, 10)) await b!.supervisor.to(credentials.clientId).emit('tick', n);
    await waitFor('first ten', () => first.received.length === 10);
    await waitFor('acknowledged', async () => (await a!.supervisor.get(credentials.clientId))?.outbox.depth === 0);
    // a second tab with the same credentials, on the other node: it takes the client over
    const second = page(b!.url, credentials);
    await waitFor('replaced', () => first.states.includes('replaced'));
    for (const n of range(11, 25)) await a!.supervisor.to(credentials.clientId).emit('tick', n);
    await waitFor('the rest', () => second.received.length === 15);
    expect(second.received).toEqual(range(11, 25));
    expect(first.received).toEqual(range(1, 10));
  });

  it('should refuse what JSON cannot carry, binary data included, and name it', async () => {
    const [a] = await cluster(1);
    const { clientId } = await a!.supervisor.register();
    await expect(a!.supervisor.to(clientId).emit('tick', { file: Buffer.from('x') })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/argument 1\.file is binary data \(a Buffer\).*encode it first/),
    });
    await expect(a!.supervisor.to(clientId).emit('tick', () => {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(a!.supervisor.to(clientId).emit('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await a!.supervisor.to(clientId).emit('tick', new Date(0), { a: [1, 'b', null] })).toBe(true);
  });

  it('should answer false for unknown and deleted clients and report the dropped outbox once, after deleted', async () => {
    const [a, b] = await cluster(2);
    const events: LifecycleEvent[] = [];
    b!.supervisor.events$.subscribe((event) => events.push(event));
    const { clientId } = await a!.supervisor.register();
    await a!.supervisor.to(clientId).emit('tick', 1);
    await a!.supervisor.to(clientId).emit('tick', 2);
    expect(await b!.supervisor.delete(clientId, 'kicked')).toBe(true);
    expect(await b!.supervisor.to(clientId).emit('tick', 3)).toBe(false);
    expect(await b!.supervisor.to('A'.repeat(22)).emit('tick', 4)).toBe(false);
    const mine = events.filter((e) => e.clientId === clientId || e.clientId === 'A'.repeat(22));
    expect(mine.map((e) => e.type)).toEqual(['deleted', 'undelivered', 'undelivered', 'undelivered']);
    expect(mine.filter((e) => e.type === 'undelivered')).toMatchObject([
      { count: 2, reason: 'kicked' },
      { count: 1, reason: 'already-deleted' },
      { count: 1, reason: 'unknown-client' },
    ]);
    expect(b!.supervisor.stats().delivery.undelivered).toBe(4);
    expect(a!.supervisor.stats().delivery.undelivered).toBe(0);
  });

  it('should ask a page that acknowledges rarely past half of maxBytes, so a stream of large messages from another node never overflows', async () => {
    const [a, b] = await cluster(2, { outbox: { maxBytes: 100_000 } });
    const credentials = await a!.supervisor.register();
    // its timer alone would acknowledge after 10 s: 11 of these messages reach the bound
    const p = page(a!.url, credentials, 10_000);
    await waitFor('connected', () => p.states.includes('connected'));
    const text = 'x'.repeat(10_000);
    for (const n of range(1, 40)) {
      expect(await b!.supervisor.to(credentials.clientId).emit('tick', n, text)).toBe(true);
      await waitFor(`message ${n}`, () => p.received.at(-1) === n);
    }
    expect(p.received).toEqual(range(1, 40));
    expect((await b!.supervisor.get(credentials.clientId))?.state).toBe('connected');
    expect(a!.supervisor.stats().delivery.acked).toBeGreaterThanOrEqual(30);
  });

  it('should delete a client whose outbox overflows on an emit from another node, once, and tell its page', async () => {
    const [a, b] = await cluster(2, { outbox: { maxMessages: 5 } });
    const { clientId, token } = await a!.supervisor.register();
    // a page that never acknowledges
    const socket = connect(a!.url, { clientId, token });
    await connected(socket);
    const told = new Promise<{ reason: string }>((resolve) => socket.once('supervisor:deleted', resolve));
    const answers = [];
    for (const n of range(1, 6)) answers.push(await b!.supervisor.to(clientId).emit('tick', n));
    expect(answers).toEqual([true, true, true, true, true, false]);
    await waitFor('onDelete on b', () => calls.some((c) => c.hook === 'onDelete' && c.node === 'n2'));
    expect(calls.filter((c) => c.hook === 'onDelete')).toMatchObject([{ clientId, detail: 'outbox-overflow' }]);
    expect(await told).toMatchObject({ reason: 'deleted' });
    await waitFor('no client left', async () => (await a!.supervisor.counts()).total === 0);
  });
});
