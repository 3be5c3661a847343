import { Registry } from 'prom-client';
import { createClient, type RedisClientType } from 'redis';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mountInspector } from '../../src/inspector/index.js';
import { collectMetrics } from '../../src/metrics/index.js';
import { eventually } from '../helpers/eventually.js';
import { once } from '../helpers/io.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode, waitFor } from './nodes.js';
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
interface Page {
  seq: number;
  rows: Row[];
  next: number | null;
  total: number | null;
  searched: number | null;
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
let statsClient: RedisClientType;
/** Refreshes counted per measurement. */
const REFRESHES = 5;

/** Every command Redis ran since the last CONFIG RESETSTAT, from INFO commandstats (scripts' own commands included), but the counting's own. */
function commandCalls(info: string): number {
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!['info', 'config|resetstat'].includes(match[1]!)) total += Number(match[2]);
  }
  return total;
}
const nodes: TestNode[] = [];
const viewers: ClientSocket[] = [];
const calls: HookCall[] = [];
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  redis = await startRedisServer();
  statsClient = createClient({ url: redis.url });
  await statsClient.connect();
});
/** A viewer of the inspector at `url` (token `t0ken`), closed after the test. */
function openViewer(url: string): ClientSocket {
  const viewer = connectClient(`${url}/supervisor-inspector`, {
    forceNew: true,
    transports: ['websocket'],
    reconnection: false,
    auth: { token: 't0ken' },
  });
  viewers.push(viewer);
  return viewer;
}

afterEach(async () => {
  for (const viewer of viewers.splice(0)) viewer.disconnect();
  for (const cleanup of cleanups.splice(0)) cleanup();
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});
afterAll(async () => {
  await statsClient?.quit();
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
    const viewer = openViewer(a!.url);
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
    // the page the viewer shows is read from Redis, and read again every refreshInterval: a change
    // on the other node reaches this node's viewer through Redis (no local event)
    const pages: Page[] = [];
    viewer.on('page', (page: Page) => pages.push(page));
    expect(await viewer.emitWithAck('view', { seq: 1 })).toEqual({ ok: true });
    await eventually(() =>
      expect(pages.at(-1)?.rows).toEqual([expect.objectContaining({ clientId, state: 'connected', node: 'n2' })]),
    );
    await b!.supervisor.delete(clientId, 'kicked');
    await eventually(() => expect(pages.at(-1)?.rows).toEqual([]));
    // a client of this node comes with the live feed of its own events, and in the next page
    const changed: Row[] = [];
    viewer.on('update', (update: { changed: Row[] }) => changed.push(...update.changed));
    const mine = await a!.supervisor.register();
    await eventually(() =>
      expect(changed).toContainEqual(expect.objectContaining({ clientId: mine.clientId, node: 'n1' })),
    );
    await eventually(() =>
      expect(pages.at(-1)?.rows).toEqual([expect.objectContaining({ clientId: mine.clientId, node: 'n1' })]),
    );
  });

  it('should read the page a viewer asks for: by state, by id or its start, page after page', async () => {
    const [a, b] = await Promise.all(
      ['n1', 'n2'].map((id) => startNode(id, calls, { redis: redis.url, keyPrefix: 'pages' })),
    );
    nodes.push(a!, b!);
    const inspector = mountInspector(a!.supervisor, { io: a!.io, token: 't0ken', refreshInterval: 60_000 });
    cleanups.push(() => inspector.close());
    const registered = await Promise.all(Array.from({ length: 30 }, () => b!.supervisor.register()));
    const ids = registered.map((r) => r.clientId);
    const online = registered[0]!;
    await connected(connect(b!.url, { clientId: online.clientId, token: online.token }));
    const viewer = openViewer(a!.url);
    await once(viewer, 'snapshot');
    const pages: Page[] = [];
    viewer.on('page', (page: Page) => pages.push(page));
    let seq = 0;
    const ask = async (query: object) => {
      seq += 1;
      expect(await viewer.emitWithAck('view', { ...query, seq })).toEqual({ ok: true });
      await eventually(() => expect(pages.at(-1)?.seq).toBe(seq));
      return pages.at(-1)!;
    };
    // page after page: every client once, the last page says so (next: null)
    const seen = new Set<string>();
    let page = await ask({ limit: 7 });
    let count = 1;
    while (true) {
      expect(page.total).toBeNull(); // Redis keeps no count of a filter's matches: pages are not numbered
      for (const row of page.rows) seen.add(row.clientId);
      if (page.next === null) break;
      page = await ask({ limit: 7, cursor: page.next });
      count += 1;
    }
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(count).toBeGreaterThanOrEqual(3);
    // by state
    const connectedPage = await ask({ state: 'connected' });
    expect(connectedPage.rows.map((r) => r.clientId)).toEqual([online.clientId]);
    // an exact id: that client, and nothing else read
    const exact = await ask({ search: ids[5] });
    expect(exact).toMatchObject({ rows: [expect.objectContaining({ clientId: ids[5] })], next: null, searched: 1 });
    // the start of an id: the clients whose id starts so
    const prefix = ids[9]!.slice(0, 3);
    const found = await ask({ search: prefix });
    expect(found.rows.map((r) => r.clientId).sort()).toEqual(ids.filter((id) => id.startsWith(prefix)).sort());
    // what no id holds is no read
    expect(await ask({ search: 'no such id!' })).toMatchObject({ rows: [], searched: 0 });
    // sorted within the page
    const sorted = await ask({ limit: 50, sort: { key: 'clientId', asc: true } });
    expect(sorted.rows.map((r) => r.clientId)).toEqual([...sorted.rows.map((r) => r.clientId)].sort());
  });

  it('should cost Redis the same per refresh of an open page with 200 clients as with 2,000', async () => {
    const perRefresh: number[] = [];
    for (const [clients, keyPrefix] of [
      [200, 'load-small'],
      [2000, 'load-large'],
    ] as const) {
      // heartbeats a minute apart, no sweep: what Redis does while the page is open is the page
      const node = await startNode(`n-${clients}`, calls, {
        redis: redis.url,
        keyPrefix,
        heartbeatInterval: 60_000,
        nodeTtl: 180_000,
        pruneInterval: 0,
        handshakeTimeout: 600_000,
      });
      nodes.push(node);
      for (let i = 0; i < clients; i += 100) {
        await Promise.all(Array.from({ length: Math.min(100, clients - i) }, () => node.supervisor.register()));
      }
      const inspector = mountInspector(node.supervisor, {
        io: node.io,
        token: 't0ken',
        refreshInterval: 100,
        flushInterval: 50,
      });
      cleanups.push(() => inspector.close());
      const viewer = openViewer(node.url);
      await once(viewer, 'snapshot');
      let refreshed = 0;
      viewer.on('page', () => {
        refreshed += 1;
      });
      expect(await viewer.emitWithAck('view', { limit: 50, seq: 1 })).toEqual({ ok: true });
      // the registrations' own events are in the feed by now; from the end of a refresh, counted
      // over the next REFRESHES (each: counts, nodes, the page)
      await waitFor('two refreshes', () => refreshed >= 3);
      const from = refreshed;
      await statsClient.configResetStat();
      await waitFor('five more refreshes', () => refreshed >= from + REFRESHES);
      const commands = commandCalls(await statsClient.info('commandstats'));
      perRefresh.push(commands / (refreshed - from));
      viewer.disconnect();
      inspector.close();
    }
    const [small, large] = perRefresh as [number, number];
    // one page of 50 rows and the counts, whatever the number of clients (the old full re-list:
    // about 10 × as many commands at 2,000 clients as at 200)
    expect(large).toBeLessThan(small * 1.3);
    expect(large).toBeLessThan(400);
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
