import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject } from 'vitest';
import { clusterClientOptions } from '../../src/cluster/redis/connection.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { RedisClusterStoreOptions } from '../../src/cluster/redis/storeOptions.js';
import { KEY_CHECK_ENV } from '../../src/cluster/redis/lua/index.js';
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
 * 3-master Redis Cluster instead
 * (`redisCluster.ts`): stores connect through one `createCluster()` client, and `admin` and
 * `server.url` are the master that owns the slot of this test's `{prefix}` (only `url` and `port`
 * of `server` then: files that restart or pause Redis run on one redis-server only).
 */
export function useRedis(serverOptions: RedisServerOptions = {}) {
  const context = {
    server: undefined as unknown as RedisServer,
    admin: undefined as unknown as Admin,
    prefix: 'sup',
  };
  const stores: RedisClusterStore[] = [];
  let counter = 0;
  let cluster: RedisCluster | undefined;
  let clusterClient: RedisClusterType | undefined;

  beforeAll(async () => {
    // every Redis-layer test runs the scripts' test build, which fails on an undeclared key
    if (process.env[KEY_CHECK_ENV] !== '1')
      throw new Error(`useRedis: ${KEY_CHECK_ENV} must be '1' (vitest.config.ts)`);
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
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
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
    const created = await RedisClusterStore.connect<TData>({
      redis: redis(),
      keyPrefix: context.prefix,
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
  /** An admin client on the Redis that holds `prefix`'s keys (`context.admin` on one redis-server). */
  async function adminFor(prefix: string): Promise<Admin> {
    if (!cluster) return context.admin;
    const owner = await cluster.ownerOf(cluster.slotOf(`{${prefix}}`));
    let admin = admins.get(owner.port);
    if (!admin) {
      admin = connectAdmin({ url: owner.url } as RedisServer);
      admins.set(owner.port, admin);
    }
    return admin;
  }

  return { context, store, node, redis, adminFor };
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
