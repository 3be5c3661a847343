import { Registry } from 'prom-client';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mountInspector } from '../../src/inspector/index.js';
import { collectMetrics } from '../../src/metrics/index.js';
import { eventually } from '../helpers/eventually.js';
import { once } from '../helpers/io.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode } from './nodes.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// The inspector and the metrics of a cluster node: the whole cluster's clients (read from Redis,
// with their node and fence), the live nodes, cluster-wide and per-node gauges. Two real nodes,
// a real Redis, real sockets.

interface Row {
  clientId: string;
  state: string;
  node: string | null;
  fence: number | null;
}
interface Snapshot {
  cluster: boolean;
  nodeId: string;
  clients: Row[];
  counts: { total: number; nodes: number };
  nodes: Array<{ node: string; clients: number }>;
  nodeState: string;
  nodeChart: {
    id: string;
    states: Array<{ id: string }>;
    transitions: Array<{ from: string; to: string; event: string; timer: string | null }>;
    anywhere: Array<{ event: string; to: string }>;
  };
}

let redis: RedisServer;
const nodes: TestNode[] = [];
const viewers: ClientSocket[] = [];
const calls: HookCall[] = [];
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const viewer of viewers.splice(0)) viewer.disconnect();
  for (const cleanup of cleanups.splice(0)) cleanup();
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});
afterAll(async () => {
  await redis?.dispose();
});

describe('the inspector and the metrics of a cluster node', () => {
  it('should show every node’s clients with their node and fence, and the live nodes', async () => {
    const [a, b] = await Promise.all(
      ['n1', 'n2'].map((id) => startNode(id, calls, { redis: redis.url, keyPrefix: 'insp' })),
    );
    nodes.push(a!, b!);
    const inspector = mountInspector(a!.supervisor, {
      io: a!.io,
      token: 't0ken',
      refreshInterval: 100,
      flushInterval: 50,
    });
    cleanups.push(() => inspector.close());
    // a client of the other node, connected there
    const { clientId, token } = await b!.supervisor.register();
    await connected(connect(b!.url, { clientId, token }));
    const viewer = connectClient(`${a!.url}/supervisor-inspector`, {
      forceNew: true,
      transports: ['websocket'],
      reconnection: false,
      auth: { token: 't0ken' },
    });
    viewers.push(viewer);
    const snapshot = await once<Snapshot>(viewer, 'snapshot');
    expect(snapshot).toMatchObject({ cluster: true, nodeId: 'n1', counts: { total: 1, nodes: 2 } });
    expect(snapshot.clients).toEqual([expect.objectContaining({ clientId, state: 'connected', node: 'n2' })]);
    expect(snapshot.clients[0]!.fence).toBeGreaterThan(0);
    expect(snapshot.nodes.map((n) => n.node).sort()).toEqual(['n1', 'n2']);
    // this node's own machine, drawn beside the client's, and the state it is in
    expect(snapshot.nodeState).toBe('serving');
    expect(snapshot.nodeChart.id).toBe('node');
    expect(snapshot.nodeChart.states.map((state) => state.id)).toEqual([
      'joining',
      'serving',
      'suspect',
      'fenced',
      'rejoining',
      'leaving',
      'closed',
    ]);
    expect(snapshot.nodeChart.transitions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ from: 'serving', to: 'suspect', timer: 'suspectIn' }),
        expect.objectContaining({ from: 'suspect', to: 'fenced', timer: 'leaseEndIn' }),
        expect.objectContaining({ from: 'fenced', to: 'rejoining', event: 'always' }),
      ]),
    );
    expect(snapshot.nodeChart.anywhere).toEqual([{ event: 'close', to: 'leaving' }]);
    // a change on the other node reaches this node's viewer through Redis (no local event)
    const changed: Row[] = [];
    viewer.on('update', (update: { changed: Row[] }) => changed.push(...update.changed));
    await b!.supervisor.delete(clientId, 'kicked');
    // the row goes (removed) once the node's next read of the cluster misses it
    const removed: string[] = [];
    viewer.on('update', (update: { removed: string[] }) => removed.push(...update.removed));
    await eventually(() => expect(removed).toContain(clientId));
    // a client of this node appears with its node too
    const mine = await a!.supervisor.register();
    await eventually(() =>
      expect(changed).toContainEqual(expect.objectContaining({ clientId: mine.clientId, node: 'n1' })),
    );
  });

  it('should count the cluster’s clients and nodes from Redis, and this node’s own clients', async () => {
    const [a, b] = await Promise.all(
      ['n1', 'n2'].map((id) => startNode(id, calls, { redis: redis.url, keyPrefix: 'metr' })),
    );
    nodes.push(a!, b!);
    const registry = new Registry();
    cleanups.push(collectMetrics(a!.supervisor, { registry, prefix: 'c_' }));
    const elsewhere = await b!.supervisor.register();
    await connected(connect(b!.url, { ...elsewhere }));
    await a!.supervisor.register();
    await eventually(() => expect(a!.supervisor.localCounts().total).toBe(1));
    const text = await registry.metrics();
    expect(text).toContain('c_cluster_nodes 2');
    expect(text).toContain('c_cluster_clients{state="connected"} 1');
    expect(text).toContain('c_cluster_clients{state="handshaking"} 1');
    // this node's share: the client it registered, not the one connected on n2
    expect(text).toContain('c_clients{state="handshaking"} 1');
    expect(text).toContain('c_clients{state="connected"} 0');
  });
});
