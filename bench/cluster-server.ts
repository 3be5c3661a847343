// One server process of `npm run bench:cluster`: a socket.io server on loopback with either the
// single-node supervisor (`memory`) or a cluster node on Redis (`redis <url> <nodeId> [keyPrefix]`,
// or on a Redis Cluster through a node-redis createCluster() client: `redis-cluster <url,url,…>
// <nodeId> [keyPrefix] [partitions]`). The bench process drives it over IPC: register clients, delete them,
// read its counts and Redis round-trips, mount the inspector (a viewer then connects from the
// bench process). `register` takes `data`: the size in bytes of each client's `data` as JSON
// (absent: no data).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCluster } from 'redis';
import { Server } from 'socket.io';
import { createSupervisor } from 'socket.io-supervisor';
import { createClusterSupervisor } from 'socket.io-supervisor/cluster';
import { mountInspector } from 'socket.io-supervisor/inspector';
import { clusterInternalsOf } from '../dist/cluster/bindings.js';
import { clusterClientOptions } from '../dist/cluster/redis/connection.js';

const [mode, redis, nodeId, keyPrefix, partitions] = process.argv.slice(2);
const http = createServer();
const io = new Server(http);
const hooks = { onConnect: () => {}, onDisconnect: () => {}, onDelete: () => {} };

interface Node {
  register(data?: unknown): Promise<{ clientId: string; token: string }> | { clientId: string; token: string };
  delete(clientId: string): Promise<boolean> | boolean;
  connected(): number | Promise<number>;
  disconnected(): number;
  /** What Redis holds (cluster mode; in memory, the supervisor's own counts). */
  stored(): Promise<{ connected: number; disconnected: number }> | { connected: number; disconnected: number };
  /** Mounts the inspector; its token. */
  inspect(): string;
  roundTrips(): number;
  close(): Promise<void>;
}

async function start(): Promise<Node> {
  if (mode === 'memory') {
    const supervisor = createSupervisor({ rateLimit: false, hooks, reconnectTimeout: 60_000 });
    supervisor.attach(io);
    return {
      register: (data) => supervisor.register(data === undefined ? {} : { data }),
      delete: (clientId) => supervisor.delete(clientId),
      connected: () => supervisor.counts().connected,
      disconnected: () => supervisor.counts().disconnected,
      stored: () => supervisor.counts(),
      inspect: () => mountInspector(supervisor, { io }).token!,
      roundTrips: () => 0,
      close: () => supervisor.close(),
    };
  }
  // the settings cluster mode needs (its own client for a URL), on every master's connection
  const commandTimeout = 10_000;
  let cluster: ReturnType<typeof createCluster> | null = null;
  if (mode === 'redis-cluster') {
    const urls = redis!.split(',');
    const { url: _url, ...defaults } = clusterClientOptions(urls[0]!, commandTimeout);
    cluster = createCluster({ rootNodes: urls.map((url) => ({ url })), defaults });
    cluster.on('error', () => {});
    await cluster.connect();
  }
  const supervisor = await createClusterSupervisor({
    redis: cluster ?? redis!,
    nodeId: nodeId!,
    ...(keyPrefix ? { keyPrefix } : {}),
    ...(partitions ? { partitions: Number(partitions) } : {}),
    rateLimit: false,
    hooks,
    reconnectTimeout: 120_000,
    // the bench measures handshaking clients in Redis for a while: they must not time out first
    handshakeTimeout: 600_000,
    // 500 handshakes in flight on a loaded 2-core machine wait for Redis longer than the 2 s
    // default: a claim answered late is a slow handshake here, not UNAVAILABLE
    commandTimeout,
  });
  supervisor.attach(io);
  const { store } = clusterInternalsOf(supervisor);
  return {
    register: (data) => supervisor.register(data === undefined ? {} : { data }),
    delete: (clientId) => supervisor.delete(clientId),
    connected: () => supervisor.localCounts().connected,
    disconnected: () => supervisor.localCounts().disconnected,
    stored: () => supervisor.counts(),
    inspect: () => mountInspector(supervisor, { io }).token!,
    roundTrips: () => store.roundTrips,
    close: async () => {
      await supervisor.close();
      await cluster?.close();
    },
  };
}

const node = await start();
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
/** A `data` whose JSON is `bytes` long (`{"pad":"xx…"}`), or none. */
const dataOf = (bytes: number | undefined) =>
  bytes === undefined ? undefined : { pad: 'x'.repeat(Math.max(0, bytes - '{"pad":""}'.length)) };

process.on('message', async (message: { cmd: string; n?: number; ids?: string[]; data?: number }) => {
  if (message.cmd === 'register') {
    const data = dataOf(message.data);
    const credentials = [];
    for (let i = 0; i < (message.n ?? 0); i += 200) {
      const batch = Math.min(200, (message.n ?? 0) - i);
      credentials.push(...(await Promise.all(Array.from({ length: batch }, () => node.register(data)))));
    }
    process.send?.({ credentials });
  } else if (message.cmd === 'delete') {
    const ids = message.ids ?? [];
    let deleted = 0;
    for (let i = 0; i < ids.length; i += 200) {
      const results = await Promise.all(ids.slice(i, i + 200).map((id) => node.delete(id)));
      deleted += results.filter(Boolean).length;
    }
    process.send?.({ deleted });
  } else if (message.cmd === 'stats') {
    process.send?.({
      connected: await node.connected(),
      disconnected: node.disconnected(),
      // Redis slow to answer on a loaded machine: "not yet", asked again, not a crash of the node
      stored: await Promise.resolve(node.stored()).catch(() => null),
      roundTrips: node.roundTrips(),
    });
  } else if (message.cmd === 'inspect') {
    process.send?.({ token: node.inspect() });
  } else if (message.cmd === 'close') {
    await node.close();
    io.close();
    process.send?.({ closed: true });
    process.exit(0);
  }
});
process.send?.({ port: (http.address() as AddressInfo).port });
// the parent went away (a test worker that died): so does this node
process.on('disconnect', () => process.exit(0));
