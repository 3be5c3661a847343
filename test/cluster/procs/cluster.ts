import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { type RedisServer, type RedisServerOptions, startRedisServer } from '../redisServer.js';

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

  constructor(
    readonly nodeId: string,
    private readonly config: Record<string, unknown>,
    private readonly running: Set<ChildProcess>,
  ) {}

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  async start(): Promise<void> {
    const child = fork(NODE_SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODE_ENV: 'production', CLUSTER_NODE: JSON.stringify(this.config) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.running.add(child);
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
      child.on('message', (message: { ready?: boolean; url?: string }) => {
        if (message.ready) resolve(message.url!);
      });
      child.once('exit', (code) => reject(new Error(`${this.nodeId} exited (${code}) before it was ready: ${stderr}`)));
    });
  }

  command<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child?.send({ id, cmd, ...args });
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

/** A real redis-server and N node processes sharing it, with every node's log in one temp dir. */
export interface TestCluster {
  redis: RedisServer;
  nodes: NodeProcess[];
  dir: string;
  /** A socket.io-client socket to a node (websocket, no automatic reconnection). */
  connect(node: NodeProcess, credentials: Credentials): ClientSocket;
  /** Every line every node logged so far. */
  log(): LogEntry[];
  stop(): Promise<void>;
}

export interface LogEntry {
  t: number;
  node: string;
  pid: number;
  inc: number;
  kind: 'hook' | 'cluster' | 'delivery';
  type?: string;
  hook?: 'onConnect' | 'onDisconnect' | 'onDelete';
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
}

export async function startCluster(
  count: number,
  options: { redis?: RedisServerOptions; node?: Record<string, unknown>; onDeleteMs?: number; prefix?: string } = {},
): Promise<TestCluster> {
  const redis = await startRedisServer(options.redis);
  const dir = mkdtempSync(join(tmpdir(), 'sup-cluster-'));
  const running = new Set<ChildProcess>();
  const sockets: ClientSocket[] = [];
  const nodes = Array.from(
    { length: count },
    (_, i) =>
      new NodeProcess(
        `node-${i + 1}`,
        {
          nodeId: `node-${i + 1}`,
          redis: redis.url,
          keyPrefix: options.prefix ?? 'sup',
          log: join(dir, `node-${i + 1}.log`),
          onDeleteMs: options.onDeleteMs ?? 0,
          options: { ...FAST, ...options.node },
        },
        running,
      ),
  );
  const killAll = () => {
    for (const child of running) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    killAll();
    await redis.dispose();
    throw error;
  }
  return {
    redis,
    nodes,
    dir,
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
      return nodes.flatMap((node) => {
        let text = '';
        try {
          text = readFileSync(join(dir, `${node.nodeId}.log`), 'utf8');
        } catch {
          return [];
        }
        return text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as LogEntry);
      });
    },
    async stop() {
      for (const socket of sockets.splice(0)) socket.disconnect();
      for (const node of nodes) if (node.paused) node.resume();
      await Promise.all(nodes.map((node) => node.kill()));
      process.off('exit', killAll);
      await redis.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves on `connect`, rejects with the `connect_error` code. */
export function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) =>
      reject(Object.assign(new Error(error.data?.code ?? error.message), { code: error.data?.code })),
    );
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
