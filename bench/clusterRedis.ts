// What `npm run bench:cluster` reads of Redis itself: how many bytes a key prefix's keys take, split
// into each client's own keys and its share of the shared ones (index sets, deadlines, node hashes),
// and how much work Redis does over a window (its CPU from INFO cpu, its commands' own time and
// count from INFO commandstats). Layout-agnostic: a key is a client's own when one of its
// `:`-separated parts is a client id of the population, so the same code reads today's `{sup}`
// keys and partitioned ones (`{sup:p17}:…`). A Redis Cluster topology would sum every master's.
import { createClient } from 'redis';

export type RedisClient = ReturnType<typeof createClient>;

export async function redisClient(url: string): Promise<RedisClient> {
  const client: RedisClient = createClient({ url });
  await client.connect();
  return client;
}

/** A key's kind: its client-id part as `<id>`, its hash tag as `{…}` (partitions summed as one). */
function kindOf(key: string, ids: ReadonlySet<string>): { kind: string; own: boolean } {
  const parts = key.split(':');
  let own = false;
  const named = parts.map((part) => {
    if (ids.has(part)) {
      own = true;
      return '<id>';
    }
    return part;
  });
  return { kind: named.join(':').replace(/^\{[^}]*\}/, '{…}'), own };
}

export interface PrefixMemory {
  keys: number;
  /** Bytes per client of its own keys (the record, an outbox…), by kind. */
  own: Record<string, number>;
  /** Bytes of the shared keys (index sets, deadlines, nodes) by kind, divided by the clients. */
  shared: Record<string, number>;
  ownPerClient: number;
  sharedPerClient: number;
}

/** `MEMORY USAGE … SAMPLES 0` (exact) of every key of `prefix`, pipelined in batches. */
export async function prefixMemory(
  client: RedisClient,
  prefix: string,
  ids: ReadonlySet<string>,
): Promise<PrefixMemory> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `{${prefix}*`, COUNT: 1000 })) {
    keys.push(...(batch as unknown as string[]));
  }
  const own: Record<string, number> = {};
  const shared: Record<string, number> = {};
  for (let i = 0; i < keys.length; i += 500) {
    const slice = keys.slice(i, i + 500);
    const sizes = await Promise.all(
      slice.map((key) => client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']) as Promise<number | null>),
    );
    slice.forEach((key, j) => {
      const { kind, own: isOwn } = kindOf(key, ids);
      const bucket = isOwn ? own : shared;
      bucket[kind] = (bucket[kind] ?? 0) + Number(sizes[j] ?? 0);
    });
  }
  const n = Math.max(1, ids.size);
  const perClient = (bucket: Record<string, number>) =>
    Object.fromEntries(Object.entries(bucket).map(([kind, bytes]) => [kind, bytes / n]));
  const sum = (bucket: Record<string, number>) => Object.values(bucket).reduce((a, b) => a + b, 0) / n;
  return {
    keys: keys.length,
    own: perClient(own),
    shared: perClient(shared),
    ownPerClient: sum(own),
    sharedPerClient: sum(shared),
  };
}

/** {@link prefixMemory} on several Redis servers (every master of a cluster whose keys are partitioned), summed. */
export async function prefixMemoryOn(
  clients: readonly RedisClient[],
  prefix: string,
  ids: ReadonlySet<string>,
): Promise<PrefixMemory> {
  const parts = await Promise.all(clients.map((client) => prefixMemory(client, prefix, ids)));
  const add = (buckets: Array<Record<string, number>>) => {
    const out: Record<string, number> = {};
    for (const bucket of buckets)
      for (const [kind, bytes] of Object.entries(bucket)) out[kind] = (out[kind] ?? 0) + bytes;
    return out;
  };
  return {
    keys: parts.reduce((n, part) => n + part.keys, 0),
    own: add(parts.map((part) => part.own)),
    shared: add(parts.map((part) => part.shared)),
    ownPerClient: parts.reduce((n, part) => n + part.ownPerClient, 0),
    sharedPerClient: parts.reduce((n, part) => n + part.sharedPerClient, 0),
  };
}

/** The median of some samples (of an even number, the upper of the two middle ones). */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** `used_memory` of INFO memory, in bytes. */
export async function usedMemory(client: RedisClient): Promise<number> {
  const info = await client.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

interface Work {
  cpuSeconds: number;
  calls: number;
  usec: number;
}

async function work(client: RedisClient): Promise<Work> {
  const [cpu, stats] = await Promise.all([client.info('cpu'), client.info('commandstats')]);
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  let calls = 0;
  let usec = 0;
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    // the probe's own INFO commands are not the load being measured
    if (match[1] === 'info') continue;
    calls += Number(match[2]);
    // a script's time includes its commands' (counted again under their own names): scripts only
    if (match[1] === 'evalsha' || match[1] === 'eval') usec += Number(match[3]);
  }
  return { cpuSeconds: seconds('used_cpu_sys') + seconds('used_cpu_user'), calls, usec };
}

/** The Redis process's CPU so far (INFO cpu: used_cpu_sys + used_cpu_user), in seconds. */
/** Scripts run so far (EVALSHA and EVAL calls, INFO commandstats). */
export async function scriptCalls(client: RedisClient): Promise<number> {
  const stats = await client.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(match[2]);
  return calls;
}

export async function cpuSeconds(client: RedisClient): Promise<number> {
  return (await work(client)).cpuSeconds;
}

/** Redis's work per second of wall time over `windowMs`. */
export interface Load {
  /** Redis process CPU (INFO cpu: used_cpu_sys + used_cpu_user), ms per s. */
  cpuMsPerSec: number;
  /** Time inside scripts (INFO commandstats usec of EVALSHA and EVAL), ms per s. */
  scriptMsPerSec: number;
  /** Commands per s (scripts' own commands included). */
  commandsPerSec: number;
}

export async function loadOver(client: RedisClient, windowMs: number): Promise<Load> {
  const before = await work(client);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await work(client);
  const seconds = (performance.now() - started) / 1000;
  return {
    cpuMsPerSec: ((after.cpuSeconds - before.cpuSeconds) * 1000) / seconds,
    scriptMsPerSec: (after.usec - before.usec) / 1000 / seconds,
    commandsPerSec: (after.calls - before.calls) / seconds,
  };
}
