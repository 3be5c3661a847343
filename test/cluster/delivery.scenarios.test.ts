import { type Socket as ClientSocket, io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { range, tickPage } from '../helpers/page.js';
import { onRedisCluster } from './helpers.js';
import { type Balancer, startBalancer } from './procs/balancer.js';
import { type Credentials, type NodeProcess, startCluster, type TestCluster, waitFor } from './procs/cluster.js';
import { checkInvariants } from './procs/invariants.js';

// Delivery in cluster mode with real processes: three nodes and a real redis-server, a page (a
// real socket.io-client socket under the real browser helper) behind a TCP load balancer, and
// messages emitted from every node while the page's client moves between nodes or its owner is
// killed with -9. The page must receive exactly the sent sequence. In the `redis-cluster` project the
// nodes share a 3-master Redis Cluster instead of the one redis-server.

let cluster: TestCluster;
let balancer: Balancer;
let n1: NodeProcess;
let n2: NodeProcess;
let n3: NodeProcess;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  cluster = await startCluster(
    3,
    onRedisCluster() ? { redisCluster: true } : { redis: { appendonly: true, appendfsync: 'always' } },
  );
  [n1, n2, n3] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
  balancer = await startBalancer(n1.url);
}, 60_000);

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect();
  await balancer?.close();
  const report = checkInvariants(cluster.log());
  await cluster?.stop();
  expect(report.violations).toEqual([]);
}, 30_000);

/** A page behind the balancer: it reconnects through it by itself, and records the `n` of every `tick` it processes. */
function page(credentials: Credentials) {
  const socket = io(balancer.url, {
    autoConnect: false,
    forceNew: true,
    transports: ['websocket'],
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
  });
  sockets.push(socket);
  return tickPage(socket, credentials, 20);
}

const record = (credentials: Credentials) =>
  n1.command<{ state: string; node: string | null; outbox: { depth: number } } | null>('get', {
    clientId: credentials.clientId,
  });

/** Emits `tick` numbers `from..to`, one after another, from the given nodes in turn. */
async function emitRange(credentials: Credentials, from: number, to: number, nodes: NodeProcess[]): Promise<void> {
  for (const n of range(from, to)) {
    const node = nodes[n % nodes.length]!;
    expect(await node.command<boolean>('emit', { clientId: credentials.clientId, event: 'tick', args: [n] })).toBe(
      true,
    );
  }
}

const deletes = (credentials: Credentials) =>
  cluster.log().filter((e) => e.kind === 'hook' && e.hook === 'onDelete' && e.clientId === credentials.clientId);

/** The rest of the kill -9 scenario, node-2 dead: emits go on from the others; the page comes back on node-3. */
async function killedOwner(client: Credentials, p: ReturnType<typeof page>): Promise<void> {
  await emitRange(client, 31, 80, [n1, n3]);
  await waitFor('node-2 declared dead', async () => (await record(client))?.node === null);
  await emitRange(client, 81, 100, [n3, n1]);
  balancer.route(n3.url);
  await waitFor('every message', () => p.received.length >= 100);
  await emitRange(client, 101, 120, [n1]);
  await waitFor('every message', () => p.received.length >= 120);
  expect(p.received).toEqual(range(1, 120));
  expect(await record(client)).toMatchObject({ state: 'connected', node: 'node-3' });
  expect(deletes(client)).toEqual([]);
  // node-3 sent everything the page had not acknowledged when node-2 died, on the page's new socket
  expect((await n3.command<{ resent: number }>('stats')).resent).toBeGreaterThanOrEqual(70);
}

describe('to(clientId).emit() in cluster mode, with real processes', () => {
  it('should deliver messages from every node across a handoff, once and in order', async () => {
    const [client] = (await n3.register()) as [Credentials];
    balancer.route(n1.url);
    const p = page(client);
    await waitFor('connected on node-1', async () => (await record(client))?.node === 'node-1');
    await emitRange(client, 1, 40, [n1, n2, n3]);
    await waitFor('the first messages', () => p.received.length >= 40);
    // the page's connection drops; while it is away every node keeps emitting
    balancer.hold();
    balancer.cut();
    await emitRange(client, 41, 120, [n1, n2, n3]);
    // it comes back on node-2, which must send all of that with nothing newer to reveal a gap
    balancer.route(n2.url);
    await waitFor('every message', () => p.received.length >= 120);
    expect(await record(client)).toMatchObject({ state: 'connected', node: 'node-2' });
    expect((await n2.command<{ resent: number }>('stats')).resent).toBeGreaterThanOrEqual(80);
    await emitRange(client, 121, 150, [n3, n1, n2]);
    await waitFor('every message', () => p.received.length >= 150);
    expect(p.received).toEqual(range(1, 150));
    await waitFor('all acknowledged', async () => (await record(client))?.outbox.depth === 0);
    expect(deletes(client)).toEqual([]);
  });

  it('should keep the outbox through kill -9 of the owner: the page gets everything on its next node', async () => {
    const [client] = (await n1.register()) as [Credentials];
    balancer.route(n2.url);
    const p = page(client);
    await waitFor('connected on node-2', async () => (await record(client))?.node === 'node-2');
    await emitRange(client, 1, 30, [n1, n3]);
    await waitFor('the first messages', () => p.received.length >= 30);
    // node-2 dies with the page's socket; the page cannot reconnect until node-2 is declared dead
    balancer.hold();
    await n2.kill();
    try {
      await killedOwner(client, p);
    } finally {
      await n2.restart();
    }
  });

  it('should report what a deleted client never acknowledged once, on the node that deleted it', async () => {
    const [client] = (await n1.register()) as [Credentials];
    await emitRange(client, 1, 5, [n1, n2, n3]);
    expect(await n2.command<boolean>('delete', { clientId: client.clientId })).toBe(true);
    expect(await n3.command<boolean>('emit', { clientId: client.clientId, event: 'tick', args: [6] })).toBe(false);
    await waitFor('reported', () =>
      cluster.log().some((e) => e.kind === 'delivery' && e.clientId === client.clientId && e.node === 'node-3'),
    );
    const reports = cluster.log().filter((e) => e.kind === 'delivery' && e.clientId === client.clientId);
    expect(
      reports.map(({ node, count, reason }) => ({ node, count, reason })).sort((a, b) => a.node.localeCompare(b.node)),
    ).toEqual([
      { node: 'node-2', count: 5, reason: 'kicked' },
      { node: 'node-3', count: 1, reason: 'already-deleted' },
    ]);
  });
});
