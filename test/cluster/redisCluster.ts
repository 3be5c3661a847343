import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redisServer.js';

const run = promisify(execFile);

/**
 * A real Redis Cluster for one test file: `masters` × (1 + `replicas`) `redis-server
 * --cluster-enabled yes` on free loopback ports (each with its own free cluster-bus port:
 * `port + 10000` may be taken or past 65535), each in its own temp `--dir`, joined by
 * `redis-cli --cluster create … --cluster-yes`, ready once every node says `cluster_state:ok` and
 * agrees on the slots. Commands go through `redis-cli` (no client library involved).
 */
export interface RedisCluster {
  /** Every node, masters first as created (a failover changes roles, not this list). */
  readonly nodes: readonly ClusterNode[];
  /** `redis://127.0.0.1:<port>` of each node started as a master: `rootNodes` for createCluster(). */
  readonly urls: readonly string[];
  /** The slot of `key` (CRC16 of its hash tag, as Redis computes it). */
  slotOf(key: string): number;
  /** The master that owns `slot` now (asked of a live node). */
  ownerOf(slot: number): Promise<ClusterNode>;
  /** The live masters now. */
  masters(): Promise<ClusterNode[]>;
  /**
   * Moves `slot` to `to`, resolving with the number of keys moved. Without `batch`, atomically
   * for the source's clients: IMPORTING on the target, then one Lua script on the source takes
   * the slot's keys, sets it MIGRATING, MIGRATEs them all and hands the slot to the target
   * (`SETSLOT … NODE`) — no script ever sees the slot half-moved; then `SETSLOT … NODE` on the
   * target and the other masters. With `batch`, the way `redis-cli --cluster reshard` does:
   * MIGRATING, `MIGRATE … KEYS` `batch` keys at a time (a pause of `pauseMs` between batches
   * widens the window in which the slot is split), then `SETSLOT … NODE` everywhere. `onSplit` is
   * told how long the slot was split (ms from `MIGRATING` on the source to its `SETSLOT … NODE`:
   * the time scripts on the slot's keys are answered `TRYAGAIN`; about 0 for an atomic move).
   */
  moveSlot(
    slot: number,
    to: ClusterNode,
    options?: { batch?: number; pauseMs?: number; onSplit?: (ms: number) => void },
  ): Promise<number>;
  /**
   * `redis-cli --cluster reshard`: `slots` slots from `from` to `to` (the lowest-numbered slots
   * `from` owns: see {@link prefixInSlot}), `MIGRATE`-ing `pipeline` keys at a time (redis-cli's
   * `--cluster-pipeline`, default 10).
   */
  reshard(from: ClusterNode, to: ClusterNode, slots: number, options?: { pipeline?: number }): Promise<void>;
  /**
   * SIGKILLs a master and waits until its replica took over and the cluster is `ok` again (needs
   * `replicas: 1`). Resolves with the promoted replica.
   */
  killMaster(master: ClusterNode): Promise<ClusterNode>;
  /**
   * Waits until every replica of `master` acknowledged everything the master has written so far
   * (each replica's acknowledged offset, as the master reports it, reaches the master's
   * `master_repl_offset`). `WAIT` through `cli` cannot do this: it waits only for the writes of its
   * own connection, and a fresh redis-cli connection wrote nothing. Resolves with the offset.
   */
  replicated(master: ClusterNode, within?: number): Promise<number>;
  /** One command on one node through redis-cli; its raw output, trimmed. */
  cli(node: ClusterNode, ...args: string[]): Promise<string>;
  /** Kills every process and removes every dir. */
  stop(): Promise<void>;
}

export interface ClusterNode {
  readonly port: number;
  readonly busPort: number;
  readonly url: string;
  readonly dir: string;
  /** The cluster's id of this node (CLUSTER MYID). */
  readonly id: string;
  /** Whether its process is running. */
  readonly alive: boolean;
}

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number;
  /** Replicas per master. @default 0 */
  replicas?: 0 | 1;
  /** `cluster-node-timeout` (ms): how soon a dead master is failed over. @default 1000 */
  nodeTimeout?: number;
  /**
   * `cluster-require-full-coverage`: `false` lets the masters that still have their slots answer
   * while another's are uncovered (a master failing over); Redis's default refuses every slot then
   * (`CLUSTERDOWN`). @default true
   */
  fullCoverage?: boolean;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * One slot's keys to another master in one step (scripts may call CLUSTER and MIGRATE): between
 * two commands of the source's clients the slot goes from "here, with every key" to "there".
 */
const ATOMIC_MOVE = `
local slot, target, port = ARGV[1], ARGV[2], ARGV[3]
local keys = redis.call('CLUSTER', 'GETKEYSINSLOT', slot, 1000000)
redis.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target)
if #keys > 0 then
  redis.call('MIGRATE', '127.0.0.1', port, '', 0, 10000, 'KEYS', unpack(keys))
end
redis.call('CLUSTER', 'SETSLOT', slot, 'NODE', target)
return #keys`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CRC16-CCITT (XModem), the hash Redis Cluster takes modulo 16384. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a key: of its first non-empty `{…}` hash tag, else of the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(Buffer.from(key.slice(open + 1, close))) % 16384;
  }
  return crc16(Buffer.from(key)) % 16384;
}

/**
 * The first `<base><n>` whose hash tag `{<base><n>}` is in `slot`. With `slot` 0 that is a key
 * prefix whose slot is the lowest of whichever master owns it, and `redis-cli --cluster reshard
 * --cluster-from <owner> --cluster-slots k` (which takes a source's lowest-numbered slots first)
 * moves it along with the owner's next k - 1 slots.
 */
export function prefixInSlot(slot: number, base = 'sup'): string {
  for (let n = 0; ; n++) if (keySlot(`{${base}${n}}`) === slot) return `${base}${n}`;
}

async function until<T>(what: string, within: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + within;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`redisCluster: ${what} not within ${within} ms${last ? ` (${String(last)})` : ''}`);
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const nodeTimeout = options.nodeTimeout ?? 1000;
  const nodes: Array<ClusterNode & { child: ChildProcess }> = [];

  const cli = async (node: { port: number }, ...args: string[]): Promise<string> => {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(node.port), ...args], {
      timeout: 10_000,
    });
    return stdout.trim();
  };

  const launch = async (): Promise<ClusterNode & { child: ChildProcess }> => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-rcluster-'));
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      let busPort = await freePort();
      while (busPort === port) busPort = await freePort();
      const args = ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1'];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'));
      args.push('--cluster-node-timeout', String(nodeTimeout), '--dir', dir, '--save', '', '--appendonly', 'no');
      if (options.fullCoverage === false) args.push('--cluster-require-full-coverage', 'no');
      // replicas sync at once, and one whose master died may always take over
      args.push('--repl-diskless-sync-delay', '0', '--cluster-replica-validity-factor', '0');
      args.push('--maxmemory-policy', 'noeviction', '--loglevel', 'warning', '--logfile', join(dir, 'redis.log'));
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      running.add(child);
      child.once('exit', () => running.delete(child));
      try {
        await until('redis-server PING', 5000, async () => {
          if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
          return (await cli({ port }, 'PING')) === 'PONG' ? true : undefined;
        });
        const id = await cli({ port }, 'CLUSTER', 'MYID');
        const node = {
          port,
          busPort,
          url: `redis://127.0.0.1:${port}`,
          dir,
          id,
          child,
          get alive() {
            return child.exitCode === null && child.signalCode === null;
          },
        };
        return node;
      } catch (error) {
        // the port was taken between picking and binding it: pick again
        child.kill('SIGKILL');
        if (attempt === 4) {
          rmSync(dir, { recursive: true, force: true });
          throw error;
        }
      }
    }
  };

  const stop = async (): Promise<void> => {
    await Promise.all(
      nodes.map(async (node) => {
        if (node.alive) {
          const exited = new Promise((resolve) => node.child.once('exit', resolve));
          node.child.kill('SIGKILL');
          await exited;
        }
        rmSync(node.dir, { recursive: true, force: true });
      }),
    );
  };

  const live = () => nodes.filter((node) => node.alive);
  const byId = (id: string) => nodes.find((node) => node.id === id);

  /** Every live node says `ok` and the same owner for every slot range. */
  const settled = async (): Promise<true | undefined> => {
    let layout: string | undefined;
    for (const node of live()) {
      if (!(await cli(node, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return undefined;
      const mine = await slotLayout(node);
      if (layout !== undefined && mine !== layout) return undefined;
      layout = mine;
    }
    return true;
  };

  /** `start-end:masterId` per range, as this node sees them (CLUSTER NODES). */
  const slotLayout = async (node: ClusterNode): Promise<string> => {
    const ranges: string[] = [];
    for (const line of (await cli(node, 'CLUSTER', 'NODES')).split('\n')) {
      const fields = line.trim().split(' ');
      if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
      for (const range of fields.slice(8)) if (!range.startsWith('[')) ranges.push(`${range}:${fields[0]}`);
    }
    return ranges.sort().join(',');
  };

  try {
    const launched = await Promise.all(Array.from({ length: masterCount * (1 + replicas) }, launch));
    nodes.push(...launched);
    const create = ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`)];
    create.push('--cluster-replicas', String(replicas), '--cluster-yes');
    await run('redis-cli', create, { timeout: 60_000 });
    await until('cluster_state:ok on every node', 30_000, settled);
    // a replica that never synced refuses to take over: wait for every link
    for (const node of nodes) {
      await until(`${node.port} synced`, 30_000, async () => {
        const info = await cli(node, 'INFO', 'replication');
        return info.includes('role:master') || info.includes('master_link_status:up') ? true : undefined;
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const masters = async (): Promise<ClusterNode[]> => {
    const [anyNode] = live();
    if (!anyNode) throw new Error('redisCluster: no live node');
    const ids = (await cli(anyNode, 'CLUSTER', 'NODES'))
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter((fields) => fields[2]?.includes('master') && !fields[2].includes('fail'))
      .map((fields) => fields[0] as string);
    return ids.map((id) => byId(id)).filter((node): node is (typeof nodes)[number] => node?.alive === true);
  };

  const ownerOf = async (slot: number): Promise<ClusterNode> => {
    const [anyNode] = live();
    if (!anyNode) throw new Error('redisCluster: no live node');
    for (const line of (await cli(anyNode, 'CLUSTER', 'NODES')).split('\n')) {
      const fields = line.trim().split(' ');
      if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
      for (const range of fields.slice(8)) {
        if (range.startsWith('[')) continue;
        const [start, end = start] = range.split('-').map(Number) as [number, number?];
        if (slot >= start && slot <= end) {
          const owner = byId(fields[0] as string);
          if (owner) return owner;
        }
      }
    }
    throw new Error(`redisCluster: nobody owns slot ${slot}`);
  };

  return {
    nodes,
    urls: nodes.slice(0, masterCount).map((node) => node.url),
    slotOf: keySlot,
    ownerOf,
    masters,
    cli,
    stop,
    async moveSlot(slot, to, { batch, pauseMs = 0, onSplit } = {}) {
      const from = await ownerOf(slot);
      if (from.id === to.id) return 0;
      await cli(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
      let moved = 0;
      const splitAt = performance.now();
      if (batch === undefined) {
        const reply = await cli(from, 'EVAL', ATOMIC_MOVE, '0', String(slot), to.id, String(to.port));
        if (!/^\d+$/.test(reply)) throw new Error(`redisCluster: the atomic move answered ${reply}`);
        moved = Number(reply);
      } else await cli(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
      while (batch !== undefined) {
        const keys = (await cli(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), String(batch)))
          .split('\n')
          .filter(Boolean);
        if (keys.length === 0) break;
        const reply = await cli(from, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '10000', 'KEYS', ...keys);
        if (reply !== 'OK') throw new Error(`redisCluster: MIGRATE answered ${reply}`);
        moved += keys.length;
        if (pauseMs > 0) await sleep(pauseMs);
      }
      // the target first (it owns the slot), then the source (it stops redirecting with ASK), then the rest
      await cli(to, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      await cli(from, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      onSplit?.(batch === undefined ? 0 : performance.now() - splitAt);
      for (const master of await masters()) {
        if (master.id !== to.id && master.id !== from.id) {
          await cli(master, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
        }
      }
      await until(`slot ${slot} on ${to.port} everywhere`, 10_000, settled);
      return moved;
    },
    async replicated(master, within = 10_000) {
      const first = await cli(master, 'INFO', 'replication');
      const target = Number(/master_repl_offset:(\d+)/.exec(first)?.[1]);
      if (!Number.isFinite(target)) throw new Error(`redisCluster: ${master.port} reports no master_repl_offset`);
      await until(`the replicas of ${master.port} at offset ${target}`, within, async () => {
        const info = await cli(master, 'INFO', 'replication');
        const offsets = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((match) => Number(match[1]));
        return offsets.length > 0 && offsets.every((offset) => offset >= target) ? true : undefined;
      });
      return target;
    },
    async reshard(from, to, slots, { pipeline } = {}) {
      const args = ['--cluster', 'reshard', `127.0.0.1:${from.port}`, '--cluster-from', from.id];
      args.push('--cluster-to', to.id, '--cluster-slots', String(slots), '--cluster-yes');
      if (pipeline !== undefined) args.push('--cluster-pipeline', String(pipeline));
      await run('redis-cli', args, { timeout: 120_000 });
      await until('the cluster agreeing after a reshard', 10_000, settled);
    },
    async killMaster(master) {
      const node = nodes.find((candidate) => candidate.id === master.id);
      if (!node) throw new Error('redisCluster: not a node of this cluster');
      // one slot it owns: whoever owns it next is the promoted replica
      const range = (await cli(node, 'CLUSTER', 'NODES'))
        .split('\n')
        .find((line) => line.includes('myself'))
        ?.trim()
        .split(' ')[8];
      if (!range) throw new Error(`redisCluster: ${node.port} owns no slot`);
      const slot = Number(range.split('-')[0]);
      const exited = new Promise((resolve) => node.child.once('exit', resolve));
      node.child.kill('SIGKILL');
      await exited;
      const promoted = await until('a replica promoted', 30_000, async () => {
        const owner = await ownerOf(slot).catch(() => undefined);
        return owner && owner.id !== node.id && owner.alive ? owner : undefined;
      });
      await until('cluster_state:ok after the failover', 30_000, settled);
      return promoted;
    },
  };
}
