import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { type RedisCluster, startRedisCluster } from '../redisCluster.js';
import { type RedisServer, type RedisServerOptions, startRedisServer } from '../redisServer.js';
import { type FaultProxy, startFaultProxy } from './faultProxy.js';

const NODE_SCRIPT = join(import.meta.dirname, 'node.ts');

/** Options every node of a test cluster runs with (short timeouts: the scenarios wait them out). */
export const FAST = {
  heartbeatInterval: 250,
  nodeTtl: 2500,
  reconnectTimeout: 1500,
  handshakeTimeout: 20_000,
  pruneInterval: 100,
  commandTimeout: 600,
  hookTimeout: 3000,
};

export interface Credentials {
  clientId: string;
  token: string;
}

/** One node process. */
export class NodeProcess {
  url = '';
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  paused = false;
  /** Its ready message came (see `serving`). */
  private ready = false;

  constructor(
    readonly nodeId: string,
    private readonly config: Record<string, unknown>,
    private readonly running: Set<ChildProcess>,
  ) {}

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Alive, started (its `url` is the one it listens on: between a restart's fork and its ready
   * message `url` is still the last process's) and not paused.
   */
  get serving(): boolean {
    return this.alive && this.ready && !this.paused;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** The file this process (and every restart of it) appends its log to. */
  get logFile(): string {
    return String(this.config.log);
  }

  async start(): Promise<void> {
    const child = fork(NODE_SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODE_ENV: 'production', CLUSTER_NODE: JSON.stringify(this.config) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.ready = false;
    this.running.add(child);
    // a send racing the process's exit: reported to that command (command() above), not thrown here
    child.on('error', () => {});
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('exit', () => {
      this.running.delete(child);
      for (const pending of this.waiting.values()) pending.reject(new Error(`${this.nodeId} exited`));
      this.waiting.clear();
    });
    child.on(
      'message',
      (message: { ready?: boolean; url?: string; id?: number; result?: unknown; error?: string; code?: string }) => {
        if (message.id === undefined) return;
        const pending = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error !== undefined)
          pending?.reject(Object.assign(new Error(message.error), { code: message.code }));
        else pending?.resolve(message.result);
      },
    );
    this.url = await new Promise<string>((resolve, reject) => {
      // before this, the process answers no command (its IPC listener is not there yet)
      child.on(
        'message',
        (message: { ready?: boolean; url?: string; failed?: { name: string; message: string; code?: string } }) => {
          if (message.ready) resolve(message.url!);
          // createClusterSupervisor() rejected: the error as the node saw it (name, code, message)
          if (message.failed) {
            const { name, code } = message.failed;
            reject(Object.assign(new Error(message.failed.message), { errorName: name, code }));
          }
        },
      );
      child.once('exit', (code) => reject(new Error(`${this.nodeId} exited (${code}) before it was ready: ${stderr}`)));
    });
    this.ready = true;
  }

  /**
   * Starts this node again after it was killed or closed: a new process under a killed one's
   * `nodeId` is refused `NODE_ID_IN_USE` until the killed incarnation's last heartbeat is older than
   * nodeTtl (it cannot tell a dead process from a live one sooner), and one whose `join` found
   * Redis unavailable (down, or the slot of every key split by a move: `TRYAGAIN` until
   * commandTimeout) is refused `UNAVAILABLE`, so this retries those two refusals, and only those,
   * for at most `withinMs`, as a process manager restarts a process that exited.
   */
  async restart(withinMs = 20_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return await this.start();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if ((code !== 'NODE_ID_IN_USE' && code !== 'UNAVAILABLE') || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  command<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const child = this.child;
      // a node that is closing or died has no IPC channel: the command fails, the runner goes on
      if (child === null || !child.connected) {
        reject(new Error(`${this.nodeId} is not running (${cmd})`));
        return;
      }
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, ...args }, (error) => {
        if (error === null || error === undefined) return;
        this.waiting.delete(id);
        reject(error);
      });
    });
  }

  async register(count = 1): Promise<Credentials[]> {
    return this.command<Credentials[]>('register', { count });
  }

  kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return exited;
  }

  pause(): void {
    this.paused = true;
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.paused = false;
    this.child?.kill('SIGCONT');
  }

  /** A rolling-deploy stop: close() (leave), then the process exits. */
  async close(): Promise<void> {
    if (!this.alive) return;
    const child = this.child!;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await this.command('close');
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * A real redis-server (or, with `redisCluster`, a real 3-master Redis Cluster) and N node
 * processes sharing it, with every node's log in one temp dir.
 */
export interface TestCluster {
  /** The redis-server (on a Redis Cluster reading it throws: there is no one server to restart or pause). */
  redis: RedisServer;
  /** The Redis Cluster the nodes share, when started with `redisCluster` (each node through a `createCluster()` client). */
  redisCluster: RedisCluster | undefined;
  /** The key prefix every node runs with (`{prefix}` is the hash tag of every key). */
  prefix: string;
  /** A plain client's URL for the keys of `prefix`: the redis-server, or the master that owns the slot of `{prefix}` now. */
  adminUrl(): Promise<string>;
  nodes: NodeProcess[];
  dir: string;
  /** The options every node runs with (FAST and the cluster's own). */
  nodeOptions: typeof FAST & Record<string, unknown>;
  /** The fault proxy between this node and Redis (only for the nodes started with `proxied`). */
  proxy(node: NodeProcess): FaultProxy;
  /**
   * Another node process (not started, not in `nodes`), logging to `<file>.log` in the cluster's
   * dir; `log()` reads it too and `stop()` kills it. A second process with a running node's id is
   * how a duplicate `nodeId` is made.
   */
  spawn(nodeId: string, options?: { file?: string; node?: Record<string, unknown>; proxied?: boolean }): NodeProcess;
  /** A socket.io-client socket to a node (websocket, no automatic reconnection). */
  connect(node: NodeProcess, credentials: Credentials): ClientSocket;
  /** Every line every node logged so far. */
  log(): LogEntry[];
  stop(): Promise<void>;
}

/** One line of a node's log (the formats are described in invariants.ts). */
export interface LogEntry {
  t: number;
  node: string;
  pid: number;
  inc: number;
  kind: 'hook' | 'cluster' | 'delivery' | 'app' | 'socket' | 'ownership';
  type?: string;
  hook?: 'onConnect' | 'onDisconnect' | 'onDelete' | 'onAcquire' | 'onRelease';
  phase?: 'start' | 'end';
  clientId?: string;
  detail?: string;
  fence?: number;
  deletionId?: string;
  redelivered?: boolean;
  outcome?: string;
  why?: string;
  incarnation?: number;
  count?: number;
  reason?: string;
  /** `socket` and `app` lines: the socket. */
  socketId?: string;
  /** `nodes-dead`: the node ids declared dead. */
  nodes?: string[];
  /** `nodes-dead`: the incarnation of each that ended. */
  incarnations?: number[];
  code?: string;
  message?: string;
}

/** The partition count of the nodes a cluster started with `redisCluster` runs (key layout 3). */
export const CLUSTER_PARTITIONS = 16;

export async function startCluster(
  count: number,
  options: {
    redis?: RedisServerOptions;
    node?: Record<string, unknown>;
    onDeleteMs?: number;
    prefix?: string;
    /** Indexes of the nodes that reach Redis through a fault proxy of their own (see `proxy()`). */
    proxied?: readonly number[];
    /**
     * A 3-master Redis Cluster (`startRedisCluster()`, test/cluster/redisCluster.ts) instead of one
     * redis-server; each node reaches it through a `createCluster()` client. A proxied node gets a
     * fault proxy per master, driven as one (`proxy()`), and maps each master's address from
     * `CLUSTER SLOTS` to its proxy (node-redis's `nodeAddressMap`): every connection it opens to
     * the cluster goes through them.
     */
    redisCluster?: boolean;
  } = {},
): Promise<TestCluster> {
  const prefix = options.prefix ?? 'sup';
  const redisCluster = options.redisCluster ? await startRedisCluster({ masters: 3 }) : undefined;
  const server = redisCluster ? undefined : await startRedisServer(options.redis);
  // on a Redis Cluster any use of `redis` fails loudly: a scenario that restarts or pauses the one
  // redis-server has nothing to act on there
  const redis = new Proxy({} as RedisServer, {
    get(_, property) {
      if (!server)
        throw new Error(`startCluster: the nodes share a Redis Cluster (redisCluster), not one redis-server`);
      return Reflect.get(server, property, server);
    },
  });
  const disposeRedis = async () => {
    await server?.dispose();
    await redisCluster?.stop();
  };
  const dir = mkdtempSync(join(tmpdir(), 'sup-cluster-'));
  const running = new Set<ChildProcess>();
  const sockets: ClientSocket[] = [];
  const proxies = new Map<string, FaultProxy>();
  const extras: NodeProcess[] = [];
  // on a Redis Cluster the nodes spread their clients over partitions (key layout 3), so the
  // multi-process cases run on both layouts: one hash tag on one redis-server, 16 on the cluster
  const nodeOptions = { ...FAST, ...(redisCluster ? { partitions: CLUSTER_PARTITIONS } : {}), ...options.node };
  // the nodes of a Redis Cluster get its masters (redisCluster in their config), not this URL
  const redisUrl = () => server?.url ?? (redisCluster?.urls[0] as string);
  /** Per proxied node on a Redis Cluster: each master's `host:port` → its proxy. */
  const clusterMaps = new Map<string, Record<string, { host: string; port: number }>>();
  for (const i of options.proxied ?? []) {
    const nodeId = `node-${i + 1}`;
    if (!redisCluster) {
      proxies.set(nodeId, await startFaultProxy({ port: redis.port }));
      continue;
    }
    const map: Record<string, { host: string; port: number }> = {};
    const each: FaultProxy[] = [];
    for (const url of redisCluster.urls) {
      const { hostname, port } = new URL(url);
      const proxy = await startFaultProxy({ port: Number(port), host: hostname });
      each.push(proxy);
      map[`${hostname}:${port}`] = { host: '127.0.0.1', port: proxy.port };
    }
    proxies.set(nodeId, proxyGroup(each));
    clusterMaps.set(nodeId, map);
  }
  const makeNode = (nodeId: string, file: string, url: string, node: Record<string, unknown> = {}) =>
    new NodeProcess(
      nodeId,
      {
        nodeId,
        redis: url,
        ...(redisCluster
          ? {
              redisCluster: clusterMaps.has(nodeId)
                ? Object.values(clusterMaps.get(nodeId) ?? {}).map(({ host, port }) => `redis://${host}:${port}`)
                : redisCluster.urls,
              redisClusterMap: clusterMaps.get(nodeId),
            }
          : {}),
        keyPrefix: prefix,
        log: join(dir, `${file}.log`),
        onDeleteMs: options.onDeleteMs ?? 0,
        options: { ...nodeOptions, ...node },
      },
      running,
    );
  const nodes = Array.from({ length: count }, (_, i) => {
    const nodeId = `node-${i + 1}`;
    return makeNode(nodeId, nodeId, proxies.get(nodeId)?.url ?? redisUrl());
  });
  const killAll = () => {
    for (const child of running) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    killAll();
    await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
    await disposeRedis();
    throw error;
  }
  return {
    redis,
    redisCluster,
    prefix,
    async adminUrl() {
      if (!redisCluster) return redis.url;
      return (await redisCluster.ownerOf(redisCluster.slotOf(`{${prefix}}`))).url;
    },
    nodes,
    dir,
    nodeOptions,
    proxy(node) {
      const proxy = proxies.get(node.nodeId);
      if (!proxy) throw new Error(`${node.nodeId} was not started behind a fault proxy`);
      return proxy;
    },
    spawn(nodeId, spawnOptions = {}) {
      const proxy = spawnOptions.proxied ? proxies.get(nodeId) : undefined;
      const node = makeNode(
        nodeId,
        spawnOptions.file ?? `${nodeId}.extra`,
        proxy?.url ?? redisUrl(),
        spawnOptions.node,
      );
      extras.push(node);
      return node;
    },
    connect(node, credentials) {
      const socket = connectClient(node.url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth: { ...credentials },
      });
      sockets.push(socket);
      return socket;
    },
    log() {
      const files = new Set([...nodes, ...extras].map((node) => node.logFile));
      return [...files].flatMap((file) => {
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          return [];
        }
        // a last line without its newline is still being written, or was cut by kill -9: not read
        const lines = text.split('\n');
        if (!text.endsWith('\n')) lines.pop();
        return lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as LogEntry);
      });
    },
    async stop() {
      for (const socket of sockets.splice(0)) socket.disconnect();
      for (const node of [...nodes, ...extras]) if (node.paused) node.resume();
      await Promise.all([...nodes, ...extras].map((node) => node.kill()));
      process.off('exit', killAll);
      await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
      await disposeRedis();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fault proxies driven as one: a node's proxies to every master of a Redis Cluster. */
function proxyGroup(each: readonly FaultProxy[]): FaultProxy {
  const first = each[0] as FaultProxy;
  const all = (f: (proxy: FaultProxy) => void) => () => {
    for (const proxy of each) f(proxy);
  };
  return {
    port: first.port,
    url: first.url,
    get mode() {
      return first.mode;
    },
    pass: all((proxy) => proxy.pass()),
    blackhole: all((proxy) => proxy.blackhole()),
    delay: (ms) => {
      for (const proxy of each) proxy.delay(ms);
    },
    hold: all((proxy) => proxy.hold()),
    release: all((proxy) => proxy.release()),
    reset: all((proxy) => proxy.reset()),
    connections: () => each.reduce((sum, proxy) => sum + proxy.connections(), 0),
    stats: () =>
      each.reduce(
        (sum, proxy) => {
          const one = proxy.stats();
          return {
            accepted: sum.accepted + one.accepted,
            reset: sum.reset + one.reset,
            keptBytes: sum.keptBytes + one.keptBytes,
          };
        },
        { accepted: 0, reset: 0, keptBytes: 0 },
      ),
    close: async () => {
      await Promise.all(each.map((proxy) => proxy.close()));
    },
  };
}

/**
 * Resolves on `connect`, rejects with the `connect_error` code, or with `DISCONNECTED` when the
 * connection closes first: a node killed or closed after the transport opened but before it
 * answered the handshake (socket.io-client then emits `disconnect`, not `connect_error`, and
 * nothing else would ever settle this).
 */
export function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) =>
      reject(Object.assign(new Error(error.data?.code ?? error.message), { code: error.data?.code })),
    );
    socket.once('disconnect', (reason) => {
      if (!socket.connected)
        reject(
          Object.assign(new Error(`disconnected before the handshake was answered (${reason})`), {
            code: 'DISCONNECTED',
          }),
        );
    });
  });
}

/** Waits until `condition()` holds (`within` ms at most; a failure names `what`). */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  within = 15_000,
): Promise<void> {
  const deadline = Date.now() + within;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
