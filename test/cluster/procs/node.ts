// One cluster node in its own process, for the multi-process tests, the soak and the benchmark: a
// real socket.io server on loopback with a cluster supervisor attached. It appends every hook call
// (start and end), every cluster event, every socket it serves and every app event it answers to
// its log file with appendFileSync, so the record survives kill -9, and answers commands from its
// parent over the IPC channel. The log's line formats are described in invariants.ts.
//
// The app: `app:echo` (x, ack) is answered with `ack({ node, pid, inc, x })` and logged, so a test
// can tell which node served an event and when. The node also passes the ownership hooks
// `onAcquire(view, ctx)` and `onRelease(view, ctx, why)` (DESIGN.md, "Turn 3"), logged as
// `kind: 'ownership'` (invariant 4 checks their pairing).
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCluster } from 'redis';
import { Server } from 'socket.io';
import { type ClusterHookContext, clusterClientOptions, createClusterSupervisor } from '../../../src/cluster/index.js';

const config = JSON.parse(process.env.CLUSTER_NODE ?? '{}') as {
  nodeId: string;
  redis: string;
  /** The masters of a Redis Cluster: the node connects through a `createCluster()` client instead of `redis`. */
  redisCluster?: string[];
  /**
   * With `redisCluster` behind fault proxies: each master's `host:port` (as `CLUSTER SLOTS` names
   * it) → the proxy this node reaches it through (node-redis's `nodeAddressMap`).
   */
  redisClusterMap?: Record<string, { host: string; port: number }>;
  keyPrefix: string;
  log: string;
  /** How long onDelete takes (to kill a node during it). */
  onDeleteMs?: number;
  port?: number;
  options?: Record<string, unknown>;
};

const now = () => performance.timeOrigin + performance.now();
let onDeleteMs = config.onDeleteMs ?? 0;
let incarnation = 0;
function log(entry: Record<string, unknown>): void {
  appendFileSync(
    config.log,
    `${JSON.stringify({ t: now(), node: config.nodeId, pid: process.pid, inc: incarnation, ...entry })}\n`,
  );
}

function hook(name: 'onConnect' | 'onDisconnect' | 'onDelete') {
  return async (client: { clientId: string }, detail: unknown, cluster: ClusterHookContext) => {
    const entry = {
      kind: 'hook',
      hook: name,
      clientId: client.clientId,
      detail: typeof detail === 'string' ? detail : String((detail as { reconnect?: boolean }).reconnect),
      ...cluster,
    };
    log({ ...entry, phase: 'start' });
    if (name === 'onDelete' && onDeleteMs > 0) await new Promise((resolve) => setTimeout(resolve, onDeleteMs));
    log({ ...entry, phase: 'end' });
  };
}

/** The per-node hooks of issue 19, logged when they are called (phase `start` only: they are synchronous here). */
function ownershipHooks(): Record<string, unknown> {
  const entry = (client: { clientId: string }, ctx: unknown) => ({
    kind: 'ownership',
    clientId: client.clientId,
    phase: 'start',
    ...(typeof (ctx as { fence?: unknown } | undefined)?.fence === 'number'
      ? { fence: (ctx as { fence: number }).fence }
      : {}),
  });
  return {
    onAcquire: (client: { clientId: string }, ctx: unknown) => log({ ...entry(client, ctx), hook: 'onAcquire' }),
    onRelease: (client: { clientId: string }, ctx: unknown, why: unknown) =>
      log({ ...entry(client, ctx), hook: 'onRelease', why: String(why) }),
  };
}

/** A `createCluster()` client with the settings cluster mode needs (docs/cluster.md, "Running on Redis Cluster / Sentinel"). */
async function redisClusterClient(urls: string[]) {
  const commandTimeout = Number(config.options?.commandTimeout ?? 2000);
  const { url: _url, ...defaults } = clusterClientOptions(urls[0] as string, commandTimeout);
  const client = createCluster({
    rootNodes: urls.map((url) => ({ url })),
    defaults,
    ...(config.redisClusterMap ? { nodeAddressMap: config.redisClusterMap } : {}),
  });
  // node-redis reports each reconnect attempt here; the store reports what it means (UNAVAILABLE)
  client.on('error', () => {});
  await client.connect();
  return client;
}

const http = createServer();
const io = new Server(http);
let created: Awaited<ReturnType<typeof createClusterSupervisor>>;
try {
  created = await createClusterSupervisor({
    redis: config.redisCluster ? await redisClusterClient(config.redisCluster) : config.redis,
    nodeId: config.nodeId,
    keyPrefix: config.keyPrefix,
    rateLimit: false,
    hooks: {
      onConnect: hook('onConnect'),
      onDisconnect: hook('onDisconnect'),
      onDelete: hook('onDelete'),
      ...ownershipHooks(),
    },
    ...config.options,
  });
} catch (error) {
  // the parent reads why (a duplicate nodeId must be refused with a SupervisorError that says so)
  const { name, message, code } = error as Error & { code?: string };
  log({ kind: 'cluster', type: 'start-failed', name, code, message });
  process.send?.({ failed: { name, message, code } }, () => process.exit(1));
  await new Promise(() => {});
}
const supervisor = created!;
incarnation = supervisor.incarnation;
supervisor.cluster$.subscribe((event) => {
  if (event.type === 'joined') incarnation = event.incarnation;
  log({ kind: 'cluster', ...event });
});
log({ kind: 'cluster', type: 'started' });
supervisor.events$.subscribe((event) => {
  if (event.type === 'undelivered') {
    log({ kind: 'delivery', type: 'undelivered', clientId: event.clientId, count: event.count, reason: event.reason });
  }
});
supervisor.attach(io);
io.on('connection', (socket) => {
  const clientId = String((socket.handshake.auth as { clientId?: unknown }).clientId ?? '');
  log({ kind: 'socket', type: 'connect', clientId, socketId: socket.id });
  socket.on('disconnect', (reason) =>
    log({ kind: 'socket', type: 'disconnect', clientId, socketId: socket.id, reason }),
  );
  socket.on('app:echo', (x: unknown, ack: unknown) => {
    log({ kind: 'app', type: 'echo', clientId, socketId: socket.id, x });
    if (typeof ack === 'function') ack({ node: config.nodeId, pid: process.pid, inc: incarnation, x });
  });
});
await new Promise<void>((resolve) => http.listen(config.port ?? 0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

type Command =
  | { id: number; cmd: 'register'; count?: number }
  | { id: number; cmd: 'delete'; clientId: string; reason?: string }
  | { id: number; cmd: 'get'; clientId: string }
  | { id: number; cmd: 'counts' }
  | { id: number; cmd: 'local' }
  | { id: number; cmd: 'slowDelete'; ms: number }
  | { id: number; cmd: 'emit'; clientId: string; event: string; args: unknown[] }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'list'; state?: 'handshaking' | 'connected' | 'disconnected' }
  | { id: number; cmd: 'sockets' }
  | { id: number; cmd: 'close' };

async function run(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'register': {
      const out = [];
      for (let i = 0; i < (command.count ?? 1); i++) out.push(await supervisor.register());
      return out;
    }
    case 'delete':
      return supervisor.delete(command.clientId, command.reason ?? 'kicked');
    case 'get':
      return (await supervisor.get(command.clientId)) ?? null;
    case 'counts':
      return supervisor.counts();
    case 'local':
      return supervisor.localCounts();
    case 'emit':
      return supervisor.to(command.clientId).emit(command.event, ...command.args);
    case 'stats':
      return supervisor.stats().delivery;
    case 'list':
      return supervisor.list(command.state ? { state: command.state } : {});
    case 'sockets':
      return [...io.of('/').sockets.values()].map((socket) => ({
        id: socket.id,
        clientId: (socket.handshake.auth as { clientId?: unknown }).clientId ?? null,
      }));
    case 'slowDelete':
      onDeleteMs = command.ms;
      return true;
    case 'close':
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      log({ kind: 'cluster', type: 'closed' });
      return true;
  }
}

process.on('message', (command: Command) => {
  run(command).then(
    (result) => process.send?.({ id: command.id, result }),
    (error: Error & { code?: string }) => process.send?.({ id: command.id, error: error.message, code: error.code }),
  );
});
process.send?.({ ready: true, url, incarnation });
// the parent went away (a test worker that died): so does this node
process.on('disconnect', () => process.exit(0));
