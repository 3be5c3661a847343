import { randomBytes } from 'node:crypto';
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject } from 'vitest';
import { clusterClientOptions, type NodeRedisClient } from '../../src/cluster/redis/connection.js';
import { type ClusterKeys, clusterKeys, keySlot, partitionOf, partitionTag } from '../../src/cluster/redis/keys.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { RedisClusterStoreOptions } from '../../src/cluster/redis/storeOptions.js';
import { KEY_CHECK_ENV } from '../../src/cluster/redis/lua/index.js';
import { CLUSTER_PARTITIONS } from './procs/cluster.js';
import { type RedisCluster, startRedisCluster } from './redisCluster.js';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redisServer.js';

export type Admin = RedisClientType;

declare module 'vitest' {
  export interface ProvidedContext {
    /** `cluster` in the `redis-cluster` project (vitest.config.ts). */
    redisTopology?: 'cluster';
  }
}

/**
 * Whether this file runs on a 3-master Redis Cluster: the `redis-cluster` vitest project, or
 * `REDIS_TOPOLOGY=cluster`.
 */
export function onRedisCluster(): boolean {
  return inject('redisTopology') === 'cluster' || process.env.REDIS_TOPOLOGY === 'cluster';
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `f` until Redis answers it (the store reconnects on its own after a restart), at most ~5 s. */
export async function whenAvailable<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (error) {
      if ((error as { code?: string }).code !== 'UNAVAILABLE' || attempt > 250) throw error;
      await sleep(20);
    }
  }
}

/**
 * One redis-server per test file; each test gets its own key prefix, and every store a test
 * opens is closed after it. In the `redis-cluster` project (or with `REDIS_TOPOLOGY=cluster`), a
 * 3-master Redis Cluster instead (`redisCluster.ts`): stores connect through one `createCluster()`
 * client (each its own with `ownConnections`) with 16 partitions unless told otherwise
 * (`context.partitions`), and `admin` and `server.url` are the master that owns the slot of this
 * test's `{prefix}`, the membership's (only `url` and `port` of `server` then: files that restart
 * or pause Redis run on one redis-server only). A client's keys: `keysOf()` on `adminOf()`.
 */
export function useRedis(serverOptions: RedisServerOptions = {}, options: UseRedisOptions = {}) {
  const context = {
    server: undefined as unknown as RedisServer,
    admin: undefined as unknown as Admin,
    prefix: 'sup',
    /**
     * The partitions of the stores this file opens unless a test says otherwise: `options.partitions`,
     * else `CLUSTER_PARTITIONS` (16, as the multi-process files' nodes) on the Redis Cluster (key
     * layout 3: a test's clients spread over the three masters) and 1 on one redis-server (layout 2).
     */
    partitions: 1,
  };
  const stores: RedisClusterStore[] = [];
  const ownConnections = options.ownConnections === true;
  let counter = 0;
  let cluster: RedisCluster | undefined;
  let clusterClient: RedisClusterType | undefined;

  beforeAll(async () => {
    // every Redis-layer test runs the scripts' test build, which fails on an undeclared key
    if (process.env[KEY_CHECK_ENV] !== '1')
      throw new Error(`useRedis: ${KEY_CHECK_ENV} must be '1' (vitest.config.ts)`);
    context.partitions = options.partitions ?? (onRedisCluster() ? CLUSTER_PARTITIONS : 1);
    if (onRedisCluster()) {
      cluster = await startRedisCluster({ masters: 3 });
      const { url: _url, ...defaults } = clusterClientOptions(cluster.urls[0] as string, 2_000);
      clusterClient = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults });
      clusterClient.on('error', () => {});
      await clusterClient.connect();
      return;
    }
    context.server = await startRedisServer(serverOptions);
    context.admin = await connectAdmin(context.server);
  }, 60_000);
  beforeEach(async () => {
    if (!cluster) return;
    // the master of this test's slot: every key of the prefix is there
    const owner = await cluster.ownerOf(cluster.slotOf(`{${context.prefix}}`));
    context.admin?.destroy();
    context.server = { url: owner.url, port: owner.port } as RedisServer;
    context.admin = await connectAdmin(context.server);
  });
  /** The clients of their own that stores of `ownConnections` connect through (the cluster). */
  const ownClients: Array<{ destroy(): void }> = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const own of ownClients.splice(0)) own.destroy();
    counter += 1;
    context.prefix = `t${counter}`;
  });
  afterAll(async () => {
    context.admin?.destroy();
    if (cluster) {
      await clusterClient?.close().catch(() => {});
      await cluster.stop();
    } else await context.server?.dispose();
  });

  /** A store on this test's prefix (not joined). */
  async function store<TData = unknown>(
    options: Partial<RedisClusterStoreOptions> = {},
  ): Promise<RedisClusterStore<TData>> {
    let connection = redis();
    if (cluster && ownConnections) {
      const own = await applicationClient();
      ownClients.push(own);
      connection = own;
    }
    const created = await RedisClusterStore.connect<TData>({
      redis: connection,
      keyPrefix: context.prefix,
      partitions: context.partitions,
      ...options,
    });
    stores.push(created as RedisClusterStore);
    return created;
  }

  /** A joined store: one node of the cluster. */
  async function node<TData = unknown>(
    nodeId: string,
    options: Partial<RedisClusterStoreOptions> = {},
  ): Promise<RedisClusterStore<TData>> {
    const created = await store<TData>({ nodeId, ...options });
    await created.join();
    return created;
  }

  /** What a store's `redis` option is here: the URL of the redis-server, or the cluster client. */
  function redis(): RedisClusterStoreOptions['redis'] {
    return clusterClient ?? context.server.url;
  }

  const admins = new Map<number, Promise<Admin>>();
  afterAll(async () => {
    for (const admin of admins.values()) (await admin.catch(() => null))?.destroy();
  });
  /** An admin client on a master of the cluster (one each, closed after the file). */
  function adminOnPort(port: number): Promise<Admin> {
    let admin = admins.get(port);
    if (!admin) {
      admin = connectAdmin({ url: `redis://127.0.0.1:${port}` } as RedisServer);
      admins.set(port, admin);
    }
    return admin;
  }
  /**
   * An admin client on the Redis that holds `key` (`context.admin` on one redis-server): on the
   * cluster, the master of its slot as the stores' client maps it.
   */
  async function adminOf(key: string): Promise<Admin> {
    if (!cluster || !clusterClient) return context.admin;
    const master = clusterClient.getSlotMaster(keySlot(key)) as { port?: number } | undefined;
    return adminOnPort(master?.port ?? (await cluster.ownerOf(keySlot(key))).port);
  }
  /** An admin client on the Redis that holds `prefix`'s keys (`context.admin` on one redis-server). */
  function adminFor(prefix: string): Promise<Admin> {
    return adminOf(`{${prefix}}`);
  }
  /** An admin client on every master (the one redis-server: `context.admin`). */
  async function everyMaster(): Promise<Admin[]> {
    if (!cluster) return [context.admin];
    return Promise.all((await cluster.masters()).map((master) => adminOnPort(master.port)));
  }

  /**
   * The keys of `clientId`'s partition under `prefix` (`keys.ts`: {@link partitionOf},
   * {@link partitionTag}): its record, data key, tombstone, outbox, emit ids, and that
   * partition's deadlines, state sets, owned sets and copies of the nodes. With one partition, the
   * keys under `{prefix}`.
   */
  function keysOf(clientId: string, prefix = context.prefix, partitions = context.partitions): ClusterKeys {
    return partitions === 1 ? clusterKeys(prefix) : clusterKeys(prefix, partitionOf(clientId, partitions), partitions);
  }

  /** The tags that hold clients: `{prefix}` with one partition, else every partition's. */
  function clientTags(prefix = context.prefix, partitions = context.partitions): string[] {
    if (partitions === 1) return [`{${prefix}}`];
    return Array.from({ length: partitions }, (_, i) => partitionTag(prefix, i, partitions));
  }

  /** Every key named `<tag>:<pattern>` under the tags that hold clients (KEYS, on each one's master). */
  async function clientKeysMatching(pattern: string, prefix = context.prefix, partitions = context.partitions) {
    const found = await Promise.all(
      clientTags(prefix, partitions).map(async (tag) => (await adminOf(tag)).keys(`${tag}:${pattern}`)),
    );
    return found.flat().sort();
  }

  /**
   * {@link expectConsistent} in every tag that holds clients; with partitions also: every client's
   * keys are in its own partition, and the membership (`{prefix}`) holds none.
   */
  async function consistent(prefix = context.prefix, partitions = context.partitions): Promise<void> {
    const tags = clientTags(prefix, partitions);
    for (const [index, tag] of tags.entries()) {
      const admin = await adminOf(tag);
      await expectConsistent(admin, tag.slice(1, -1));
      if (partitions === 1) continue;
      for (const key of await admin.keys(`${tag}:*`)) {
        const id = /^\{[^}]+\}:(?:c|x|t|o|e):([A-Za-z0-9_-]+)$/.exec(key)?.[1];
        if (id !== undefined) expect(partitionOf(id, partitions), `${key}: in partition ${index}`).toBe(index);
      }
    }
    if (partitions === 1) return;
    const membership = `{${prefix}}`;
    const misplaced = (await (await adminOf(membership)).keys(`${membership}:*`)).filter((key) =>
      /^\{[^}]+\}:(c|x|t|o|e|d|owned|dels|state):|^\{[^}]+\}:deadlines$/.test(key),
    );
    expect(misplaced, 'client keys under the membership tag').toEqual([]);
  }

  /**
   * `count` fresh client ids (base64url, 22 characters, as the store makes them) all in partition
   * `index` of this file's stores (any ids with one partition).
   */
  function idsInPartition(count: number, index = 0, partitions = context.partitions): string[] {
    const ids: string[] = [];
    while (ids.length < count) {
      const id = randomBytes(16).toString('base64url');
      if (partitionOf(id, partitions) === index) ids.push(id);
    }
    return ids;
  }

  /** Every master loses its data (FLUSHALL): Redis restarted empty. */
  async function flushAll(): Promise<void> {
    await Promise.all((await everyMaster()).map((admin) => admin.flushAll()));
  }

  /**
   * A client of the application's own, on this file's Redis (a `createClient()` on the one
   * redis-server, a `createCluster()` on the cluster), connected; the caller closes it.
   */
  async function applicationClient(): Promise<NodeRedisClient & { destroy(): void }> {
    if (cluster) {
      const { url: _url, ...defaults } = clusterClientOptions(cluster.urls[0] as string, 2_000);
      const own = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults });
      own.on('error', () => {});
      await own.connect();
      return own as unknown as NodeRedisClient & { destroy(): void };
    }
    const own = createClient(clusterClientOptions(context.server.url, 2_000));
    await own.connect();
    return own as unknown as NodeRedisClient & { destroy(): void };
  }

  return {
    context,
    store,
    node,
    redis,
    adminFor,
    adminOf,
    everyMaster,
    keysOf,
    clientTags,
    clientKeysMatching,
    idsInPartition,
    consistent,
    flushAll,
    applicationClient,
  };
}

export interface UseRedisOptions {
  /**
   * The partitions of the stores the file opens unless a test passes its own (default: 16 on the
   * Redis Cluster, 1 on one redis-server). 1 for a file that is about key layout 2 itself.
   */
  partitions?: number;
  /**
   * On the Redis Cluster, each store connects through a `createCluster()` client of its own, as
   * each one has its own connection to the one redis-server (a URL): tests of races between
   * connections. Without it the stores share one client, whose commands to a master go in the order
   * they were sent.
   */
  ownConnections?: boolean;
}

export async function connectAdmin(server: RedisServer): Promise<Admin> {
  const admin = createClient({ url: server.url, socket: { reconnectStrategy: 50 } }) as RedisClientType;
  admin.on('error', () => {});
  await admin.connect();
  return admin;
}

/**
 * The indexes agree with the records: each record is in exactly the state set of its state and
 * in the owned set of its owner, has a deadline exactly when handshaking or disconnected (at its
 * expiresAt), has no tombstone, and has its `data` in exactly one place: its hash (64 bytes or
 * less) or its data key (longer); no index and no data key names a missing record.
 */
export async function expectConsistent(admin: Admin, prefix: string): Promise<void> {
  const tag = `{${prefix}}`;
  const recordKeys = await admin.keys(`${tag}:c:*`);
  const ids = new Set(recordKeys.map((key) => key.slice(`${tag}:c:`.length)));
  const states = ['handshaking', 'connected', 'disconnected'];
  const stateSets = Object.fromEntries(
    await Promise.all(states.map(async (state) => [state, new Set(await admin.sMembers(`${tag}:state:${state}`))])),
  ) as Record<string, Set<string>>;
  const deadlines = new Map<string, number>();
  for (const { value, score } of await admin.zRangeWithScores(`${tag}:deadlines`, 0, -1)) deadlines.set(value, score);
  const ownedKeys = await admin.keys(`${tag}:owned:*`);
  const ownedBy = new Map<string, string>();
  for (const key of ownedKeys) {
    for (const id of await admin.sMembers(key)) {
      expect(ownedBy.has(id), `${id} in two owned sets`).toBe(false);
      ownedBy.set(id, key.slice(`${tag}:owned:`.length));
    }
  }
  for (const id of ids) {
    const record = await admin.hGetAll(`${tag}:c:${id}`);
    for (const state of states)
      expect(stateSets[state]?.has(id), `${id} in state set ${state}`).toBe(record.state === state);
    const owner = record.node === '' ? undefined : `${record.node}:${record.inc}`;
    expect(ownedBy.get(id), `${id} owned set`).toBe(owner);
    if (record.state === 'connected') {
      expect(deadlines.has(id), `${id} connected without deadline`).toBe(false);
      expect(record.expiresAt).toBe('');
      expect(record.socketId).not.toBe('');
    } else {
      expect(deadlines.get(id), `${id} deadline`).toBe(Number(record.expiresAt));
      expect(record.socketId).toBe('');
    }
    expect(await admin.exists(`${tag}:t:${id}`), `${id} has a tombstone`).toBe(0);
    const apart = await admin.get(`${tag}:x:${id}`);
    if (record.data === undefined) expect(apart?.length, `${id} data key`).toBeGreaterThan(64);
    else {
      expect(apart, `${id} data in its hash and in a data key`).toBeNull();
      expect(record.data.length, `${id} data in its hash`).toBeLessThanOrEqual(64);
    }
  }
  for (const dataKey of await admin.keys(`${tag}:x:*`)) {
    expect(ids.has(dataKey.slice(`${tag}:x:`.length)), `${dataKey}: a data key, no record`).toBe(true);
  }
  for (const state of states)
    for (const id of stateSets[state] ?? []) expect(ids.has(id), `${id} indexed, no record`).toBe(true);
  for (const id of deadlines.keys()) expect(ids.has(id), `${id} deadline, no record`).toBe(true);
  for (const id of ownedBy.keys()) expect(ids.has(id), `${id} owned, no record`).toBe(true);
}
