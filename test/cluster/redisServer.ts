import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real `redis-server` for one test file: on a free port picked first (`--port 0` would turn
 * TCP off), in a temp `--dir`, no automatic RDB snapshots, AOF on request. `restart()` keeps the
 * dir, so the AOF is replayed; `pause()`/`resume()` (SIGSTOP/SIGCONT) make it unreachable without
 * closing connections, the way a stalled host looks. `snapshot()` and `restartFrom()` roll Redis
 * back to an older state, as a restore from a backup, an AOF `everysec` tail lost in a crash or a
 * lagging replica promoted do.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGTERM (Redis fsyncs its AOF and exits) or SIGKILL (a crash), and waits for the exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts again on the same port and dir. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  /**
   * A copy of what Redis has persisted now: without AOF, `SAVE` then a copy of `dump.rdb`; with
   * AOF, a copy of the AOF directory (exact with `appendfsync: 'always'`; with `everysec` up to a
   * second older, like a crash).
   */
  snapshot(): Promise<RedisSnapshot>;
  /**
   * A crash (SIGKILL), the persisted files replaced by the snapshot's, and a start on the same port
   * and dir: Redis comes back with the older data.
   */
  restartFrom(snapshot: RedisSnapshot): Promise<void>;
  /** Stops it and removes its dir. */
  dispose(): Promise<void>;
}

/** Persisted files of one moment (see {@link RedisServer.snapshot}). */
export interface RedisSnapshot {
  readonly kind: 'rdb' | 'aof';
  /** Where the copy is (inside the server's dir). */
  readonly path: string;
  /** When it was taken (`performance.timeOrigin + performance.now()`, the clock the node logs use). */
  readonly at: number;
}

export interface RedisServerOptions {
  /** @default false */
  appendonly?: boolean;
  /** `always` makes a SIGKILL lose nothing acknowledged. @default 'everysec' */
  appendfsync?: 'always' | 'everysec' | 'no';
}

const running = new Set<ChildProcess>();
// a test file that dies (or forgets dispose) leaves no redis-server behind
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command on a raw connection (no client library involved); resolves with the reply's first line, or null. */
function rawCommand(port: number, command: string, within = 500): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let answer = '';
    const done = (reply: string | null): void => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(within, () => done(null));
    socket.on('error', () => done(null));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      const end = answer.indexOf('\r\n');
      if (end !== -1) done(answer.slice(0, end));
    });
  });
}

/** Answers once the server replies `+PONG` to a raw PING. */
async function ping(port: number): Promise<boolean> {
  return (await rawCommand(port, 'PING')) === '+PONG';
}

async function waitUntilReady(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sup-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push('--appendonly', options.appendonly ? 'yes' : 'no', '--appendfsync', options.appendfsync ?? 'everysec');
    args.push('--maxmemory-policy', 'noeviction', '--loglevel', 'warning', '--logfile', join(dir, 'redis.log'));
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    running.add(started);
    started.once('exit', () => running.delete(started));
    child = started;
    await waitUntilReady(port, started);
  };

  // another process may take the port between picking and binding it: pick again
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      child?.kill('SIGKILL');
      if (attempt === 4) throw error;
    }
  }

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGCONT');
    current.kill(signal);
    await exited;
  };

  const persisted = (kind: 'rdb' | 'aof') => join(dir, kind === 'rdb' ? 'dump.rdb' : 'appendonlydir');
  let snapshots = 0;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async snapshot() {
      const kind = options.appendonly ? 'aof' : 'rdb';
      if (kind === 'rdb') {
        const reply = await rawCommand(port, 'SAVE', 10_000);
        if (reply !== '+OK') throw new Error(`redis-server SAVE answered ${reply}`);
      }
      const at = performance.timeOrigin + performance.now();
      const path = join(dir, 'snapshots', String(++snapshots));
      mkdirSync(path, { recursive: true });
      cpSync(persisted(kind), join(path, kind === 'rdb' ? 'dump.rdb' : 'appendonlydir'), { recursive: true });
      return { kind, path, at };
    },
    async restartFrom(snapshot) {
      await stop('SIGKILL');
      for (const kind of ['rdb', 'aof'] as const) rmSync(persisted(kind), { recursive: true, force: true });
      const file = join(snapshot.path, snapshot.kind === 'rdb' ? 'dump.rdb' : 'appendonlydir');
      if (!existsSync(file)) throw new Error(`no snapshot at ${file}`);
      cpSync(file, persisted(snapshot.kind), { recursive: true });
      await launch();
    },
    dispose: async () => {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
