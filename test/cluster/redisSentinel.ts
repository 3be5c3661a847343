import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type RedisServer, startRedisServer } from './redisServer.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A real Redis Sentinel setup for one test file: a master and a replica (`startRedisServer`, the
 * replica with `--replicaof`), and one sentinel (`redis-server <conf> --sentinel`: Debian's
 * redis-server binary runs as a sentinel, no other package needed) watching the master as
 * `name`, quorum 1. `failover()` asks the sentinel for a failover and waits until it names the
 * former replica as master.
 */
export interface RedisSentinel {
  readonly name: string;
  /** The sentinel's port: `sentinelRootNodes: [{ host: '127.0.0.1', port }]`. */
  readonly port: number;
  /** The master's port now, as the sentinel names it. */
  masterPort(): Promise<number>;
  readonly servers: readonly RedisServer[];
  /** `SENTINEL FAILOVER`, then waits for the sentinel to name the other server. Resolves with its port. */
  failover(): Promise<number>;
  stop(): Promise<void>;
}

const cli = async (port: number, ...args: string[]): Promise<string> =>
  (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout.trim();

export async function startRedisSentinel(name = 'sup-master'): Promise<RedisSentinel> {
  const master = await startRedisServer();
  const replica = await startRedisServer();
  let sentinel: ChildProcess | undefined;
  const stop = async () => {
    if (sentinel && sentinel.exitCode === null && sentinel.signalCode === null) {
      const exited = new Promise((resolve) => sentinel?.once('exit', resolve));
      sentinel.kill('SIGKILL');
      await exited;
    }
    await Promise.all([master.dispose(), replica.dispose()]);
  };
  try {
    await cli(replica.port, 'REPLICAOF', '127.0.0.1', String(master.port));
    await until(async () => (await cli(replica.port, 'INFO', 'replication')).includes('master_link_status:up'));
    const port = await freePort();
    const conf = join(master.dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${master.dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    sentinel = spawn('redis-server', [conf, '--sentinel', '--logfile', join(master.dir, 'sentinel.log')], {
      stdio: 'ignore',
    });
    process.once('exit', () => sentinel?.kill('SIGKILL'));
    const masterPort = async () => {
      const [, reply] = (await cli(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)).split('\n');
      return Number(reply);
    };
    // ready once it knows the replica (a failover needs one)
    await until(async () => (await cli(port, 'SENTINEL', 'REPLICAS', name)).includes(String(replica.port)));
    return {
      name,
      port,
      masterPort,
      servers: [master, replica],
      async failover() {
        const before = await masterPort();
        await cli(port, 'SENTINEL', 'FAILOVER', name);
        let after = before;
        await until(async () => {
          after = await masterPort();
          if (after === before) return false;
          return (await cli(after, 'ROLE')).startsWith('master');
        });
        return after;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function until(probe: () => Promise<boolean>, within = 20_000): Promise<void> {
  const deadline = Date.now() + within;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`redisSentinel: not ready within ${within} ms`);
}
