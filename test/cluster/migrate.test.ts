import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clusterKeys, partitionOf, partitionTag } from '../../src/cluster/redis/keys.js';
import { type MigrationSummary, migrateToPartitions, migrateUpTo } from '../../src/cluster/redis/migrate.js';
import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { ClusterClientRecord, Deletion } from '../../src/cluster/redis/records.js';
import { claimed, registered } from './fixtures.js';
import { expectConsistent, onRedisCluster, sleep, useRedis } from './helpers.js';

/**
 * The offline migration from key layout 2 (every key under `{prefix}`) to the partitioned layout 3
 * (`npm run migrate:partitions`, `migrateToPartitions`): a cluster of real layout-2 stores, stopped,
 * migrated to 8 partitions, then served by layout-3 stores. Runs on one redis-server and (the
 * `redis-cluster` project) on a 3-master Redis Cluster, where the partitions' slots are on every
 * master and a client's copy and the deletion of its old keys are in different slots.
 */
const P = 8;
/** Nodes never look stale by themselves, and no test sees an outage unless it makes one. */
const quiet = { nodeTtl: 60_000, heartbeatInterval: 1_000, outageGap: 600_000 };
const long = (tag: string) => ({ tag, note: 'x'.repeat(150) });

interface Built {
  /** Every client with a record, as a layout-2 store read it before the migration. */
  records: Map<string, ClusterClientRecord>;
  tokens: Map<string, string>;
  outboxes: Map<string, string[]>;
  handshaking: string;
  disconnected: string;
  connected: string;
  withOutbox: string;
  deleted: string;
  pending: { deletionId: string; clientId: string };
  /** The dead node's clients still in reaping (owned by d:1). */
  reaping: string[];
  counts: Awaited<ReturnType<RedisClusterStore['counts']>>;
  tombstoneTtl: number;
}

describe('migrate:partitions (key layout 2 → 3)', () => {
  // the stores that pass no `partitions` are the cluster of layout 2 being migrated: one partition
  // on the Redis Cluster too (the layout-3 stores pass P)
  const { context, node, store, adminFor, redis } = useRedis({}, { partitions: 1 });
  const membership = () => adminFor(context.prefix);

  /**
   * A layout-2 cluster in every state a client can be in: handshaking (a long data), connected,
   * disconnected, an outbox, a tombstone, an unfinished deletion, and a dead node whose clients are
   * still being released (batchSize 1: one per reap); then every node stopped without leaving.
   */
  async function buildLayout2(): Promise<Built> {
    const tokens = new Map<string, string>();
    const register = async (owner: RedisClusterStore, data: unknown) => {
      const { clientId, token } = registered(await owner.register({ data }));
      tokens.set(clientId, token);
      return clientId;
    };
    const connect = async (owner: RedisClusterStore, data: unknown, socketId: string) => {
      const clientId = await register(owner, data);
      return {
        clientId,
        fence: claimed(await owner.claim({ clientId, token: tokens.get(clientId)!, socketId })).client.fence,
      };
    };
    // the dead node first: its heartbeat gets old while the others work
    const d = await node('d', quiet);
    const doomed: string[] = [];
    for (let i = 0; i < 3; i++) doomed.push((await connect(d, { doomed: i }, `sd-${i}`)).clientId);
    await d.close();
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const handshaking = await register(a, long('handshaking'));
    const connected = (await connect(a, long('connected'), 'sa-1')).clientId;
    const off = await connect(a, { short: true }, 'sa-2');
    expect(await a.disconnect({ clientId: off.clientId, socketId: 'sa-2', fence: off.fence })).toMatchObject({
      outcome: 'disconnected',
    });
    const withOutbox = (await connect(b, long('outbox'), 'sb-1')).clientId;
    for (let i = 1; i <= 3; i++) {
      const emitted = await b.emit({
        clientId: withOutbox,
        emitId: `emit${i}`,
        payload: JSON.stringify(['news', { i, text: 'é✓' }]),
        maxMessages: 100,
        maxBytes: 100_000,
      });
      expect(emitted).toMatchObject({ outcome: 'queued', seq: i });
    }
    expect(await b.ack(withOutbox, 1)).toMatchObject({ outcome: 'acked' });
    const deleted = (await connect(a, null, 'sa-3')).clientId;
    const gone = await a.delete({ clientId: deleted, reason: 'kicked' });
    if (gone.outcome !== 'deleted') throw new Error(gone.outcome);
    expect(await a.completeDeletion(gone.deletion.deletionId, deleted)).toBe('completed');
    const victim = (await connect(b, long('victim'), 'sb-2')).clientId;
    const pending = await b.delete({ clientId: victim, reason: 'logout' });
    if (pending.outcome !== 'deleted') throw new Error(pending.outcome);
    // a reaper with a short nodeTtl declares d dead and releases one of its clients per call
    await sleep(300);
    await a.heartbeat();
    await b.heartbeat();
    const r = await node('r', { ...quiet, nodeTtl: 250, heartbeatInterval: 100, batchSize: 1 });
    const reaped = await r.reap();
    expect(reaped).toMatchObject({ outcome: 'reaped', declaredDead: ['d'], released: 1 });
    const admin = await membership();
    const tag = `{${context.prefix}}`;
    expect(await admin.sMembers(`${tag}:reaping`)).toEqual(['d:1']);
    const reaping = await admin.sMembers(`${tag}:owned:d:1`);
    expect(reaping).toHaveLength(2);
    const records = new Map<string, ClusterClientRecord>();
    const outboxes = new Map<string, string[]>();
    for (const clientId of tokens.keys()) {
      const record = await a.get(clientId);
      if (!record) continue;
      records.set(clientId, record);
      const outbox = await a.readOutbox(clientId);
      outboxes.set(clientId, outbox.outcome === 'ok' ? outbox.members : []);
    }
    expect(records.size).toBe(7);
    expect(outboxes.get(withOutbox)).toHaveLength(2);
    const counts = await a.counts();
    for (const stopped of [a, b, r]) await stopped.close();
    // stopped without leaving: silent past the migration's nodeTtl (250 ms)
    await sleep(300);
    return {
      records,
      tokens,
      outboxes,
      handshaking,
      disconnected: off.clientId,
      connected,
      withOutbox,
      deleted,
      pending: { deletionId: pending.deletion.deletionId, clientId: victim },
      reaping,
      counts,
      tombstoneTtl: 60_000,
    };
  }

  /** A partition's tag without its braces (what `adminFor` and `expectConsistent` take). */
  const inner = (i: number) => partitionTag(context.prefix, i, P).slice(1, -1);

  /** The command line of `npm run migrate:partitions` on this test's prefix, to P partitions, then `extra`. */
  const cliArgs = (extra: readonly string[]) => [
    '--import',
    'tsx',
    'scripts/migrate-partitions.ts',
    '--redis',
    context.server.url,
    '--prefix',
    context.prefix,
    '--partitions',
    String(P),
    // on a Redis Cluster: the URL of one master, from which createCluster() finds the others
    ...(onRedisCluster() ? ['--cluster'] : []),
    ...extra,
  ];

  /** The admin client of a partition's master, and its tag. */
  async function part(i: number) {
    return { admin: await adminFor(inner(i)), keys: clusterKeys(context.prefix, i, P) };
  }

  /** What must hold right after a complete migration, before any node of layout 3 joins. */
  async function expectMigrated(built: Built): Promise<void> {
    const admin = await membership();
    const tag = `{${context.prefix}}`;
    expect(await admin.hGetAll(`${tag}:schema`)).toEqual({ layout: '3', partitions: String(P) });
    // nothing is left under the old tag but the membership
    const left = (await admin.keys(`${tag}:*`)).map((key) => key.slice(tag.length + 1)).sort();
    for (const name of left) expect(name, `${name} left under ${tag}`).toMatch(/^(node:[a-z]+|reaping|meta|schema)$/);
    expect(left).toContain('schema');
    for (let i = 0; i < P; i++) {
      const { admin: partAdmin } = await part(i);
      await expectConsistent(partAdmin, inner(i));
    }
    // each client's keys are in its partition, byte for byte
    for (const [clientId, record] of built.records) {
      const { admin: partAdmin, keys } = await part(partitionOf(clientId, P));
      const hash = await partAdmin.hGetAll(keys.client(clientId));
      expect(hash.state).toBe(record.state);
      expect(hash.fence).toBe(String(record.fence));
      const owner = hash.node === '' ? '' : `${hash.node}:${hash.inc}`;
      if (owner !== '') {
        // every incarnation of layout 2 ended: the partition reap releases the clients it still owns
        expect(await partAdmin.sIsMember(keys.reaping, owner), `${owner} reaping in its partition`).toBeTruthy();
      }
    }
    // the tombstone kept its remaining time to live
    const { admin: tombAdmin, keys: tombKeys } = await part(partitionOf(built.deleted, P));
    expect(await tombAdmin.get(tombKeys.tombstone(built.deleted))).toMatch(/ kicked$/);
    const pttl = await tombAdmin.pTTL(tombKeys.tombstone(built.deleted));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(built.tombstoneTtl);
    // the unfinished deletion: its node stopped, so it is an orphan in its client's partition
    const { admin: delAdmin, keys: delKeys } = await part(partitionOf(built.pending.clientId, P));
    expect(await delAdmin.hGet(delKeys.deletion(built.pending.deletionId), 'clientId')).toBe(built.pending.clientId);
    expect(await delAdmin.sMembers(delKeys.orphans)).toEqual([built.pending.deletionId]);
  }

  /** Nodes of layout 3 serve every client as layout 2 left it: records, outboxes, claims, deletions, releases. */
  async function expectServed(built: Built): Promise<void> {
    const n = await node('n', { ...quiet, partitions: P, nodeTtl: 250, heartbeatInterval: 100, batchSize: 2 });
    for (const [clientId, record] of built.records) {
      expect(await n.get(clientId), clientId).toEqual(record);
      const outbox = await n.readOutbox(clientId);
      expect(outbox.outcome === 'ok' ? outbox.members : [], clientId).toEqual(built.outboxes.get(clientId));
    }
    // the same clients in each state; the live nodes are those of layout 3 now
    expect(await n.counts()).toEqual({ ...built.counts, nodes: 1 });
    // the tombstone still answers
    const tomb = await n.claim({ clientId: built.deleted, token: built.tokens.get(built.deleted)!, socketId: 'x' });
    expect(tomb).toMatchObject({ outcome: 'rejected', code: 'CLIENT_DELETED', reason: 'kicked' });
    // claims: handshaking → connected, disconnected → reconnected, connected → swapped
    const claim = async (clientId: string, socketId: string) =>
      claimed(await n.claim({ clientId, token: built.tokens.get(clientId)!, socketId }));
    expect(await claim(built.handshaking, 'n-1')).toMatchObject({ outcome: 'connected', ownerChanged: true });
    expect(await claim(built.disconnected, 'n-2')).toMatchObject({ outcome: 'reconnected' });
    const swapped = await claim(built.connected, 'n-3');
    expect(swapped).toMatchObject({ outcome: 'swapped', ownerChanged: true });
    expect(swapped.client.fence).toBeGreaterThan(built.records.get(built.connected)!.fence);
    expect(swapped.client.data).toEqual(long('connected'));
    // the outbox goes on from where it was
    expect(await n.ack(built.withOutbox, 2)).toMatchObject({ outcome: 'acked', acked: 2 });
    // the first reap of layout 3: every client an ended incarnation still owns is released, the
    // orphaned deletion redelivered
    const released: string[] = [];
    const redelivered: Deletion[] = [];
    for (let i = 0; i < 50; i++) {
      const result = await n.reap();
      if (result.outcome !== 'reaped') throw new Error(result.outcome);
      redelivered.push(...result.redelivered);
      released.push(...Array(result.released).fill('x'));
      if (!result.more) break;
    }
    expect(redelivered).toEqual([
      expect.objectContaining({ ...built.pending, reason: 'logout', redelivered: true, attempts: 2 }),
    ]);
    expect(await n.completeDeletion(built.pending.deletionId, built.pending.clientId)).toBe('completed');
    const owned = [...built.records.values()].filter(
      (record) =>
        record.node !== null && ![built.handshaking, built.disconnected, built.connected].includes(record.clientId),
    );
    expect(released).toHaveLength(owned.length);
    for (const record of owned) {
      const after = await n.get(record.clientId);
      expect(after, record.clientId).toMatchObject({ node: null, state: 'disconnected' });
      expect(after!.fence).toBeGreaterThan(record.fence);
    }
    for (const clientId of built.reaping) {
      expect(await claim(clientId, `r-${clientId}`)).toMatchObject({ outcome: 'reconnected' });
    }
    for (let i = 0; i < P; i++) {
      const { admin: partAdmin } = await part(i);
      await expectConsistent(partAdmin, inner(i));
    }
  }

  it('should move every client of a stopped layout-2 cluster into its partition, and nodes of layout 3 serve them as before', async () => {
    const built = await buildLayout2();
    const progress: MigrationSummary[] = [];
    const summary = await migrateToPartitions({
      redis: redis(),
      keyPrefix: context.prefix,
      partitions: P,
      nodeTtl: 250,
      batchSize: 5,
      onProgress: (at) => progress.push({ ...at }),
    });
    expect(summary).toMatchObject({
      dryRun: false,
      from: 2,
      partitions: P,
      clients: 9,
      records: 7,
      tombstones: 2,
      messages: 2,
      deletions: 1,
      strays: 0,
      complete: true,
    });
    expect([...summary.endedIncarnations].sort()).toEqual(['a:1', 'b:1', 'r:1']);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ clients: 9, complete: true });
    await expectMigrated(built);
    // a node of layout 2 is refused now, and a second run finds nothing to do
    const old = await store({ nodeId: 'a', ...quiet });
    await expect(old.join()).rejects.toMatchObject({ code: 'KEY_LAYOUT_MISMATCH' });
    await expect(
      migrateToPartitions({ redis: redis(), keyPrefix: context.prefix, partitions: P, nodeTtl: 250 }),
    ).rejects.toMatchObject({
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining(`already says key layout 3 with ${P} partitions`),
    });
    await expectServed(built);
  });

  it('should refuse while a node is live, naming it, and write nothing; a dry run counts and writes nothing', async () => {
    const a = await node('a', quiet);
    const { clientId, token } = registered(await a.register({ data: long('x') }));
    claimed(await a.claim({ clientId, token, socketId: 's1' }));
    const admin = await membership();
    const before = (await admin.keys(`{${context.prefix}}:*`)).sort();
    const refusal = await migrateToPartitions({ redis: redis(), keyPrefix: context.prefix, partitions: P }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toMatchObject({ code: 'KEY_LAYOUT_MISMATCH' });
    expect((refusal as Error).message).toMatch(
      /node "a" is alive .*heartbeat \d+ ms ago, nodeTtl 10000 ms.*stop every node first/,
    );
    expect((await admin.keys(`{${context.prefix}}:*`)).sort()).toEqual(before);
    expect(await admin.hGetAll(`{${context.prefix}}:schema`)).toEqual({ layout: '2', partitions: '1' });
    // stopped: a dry run counts what it would move and end, and writes nothing either
    await a.close();
    await sleep(60);
    const dry = await migrateToPartitions({
      redis: redis(),
      keyPrefix: context.prefix,
      partitions: P,
      nodeTtl: 50,
      dryRun: true,
    });
    expect(dry).toMatchObject({ dryRun: true, from: 2, clients: 1, records: 1, complete: false });
    expect(dry.endedIncarnations).toEqual(['a:1']);
    expect((await admin.keys(`{${context.prefix}}:*`)).sort()).toEqual(before);
    expect(await admin.hGet(`{${context.prefix}}:node:a`, 'state')).toBe('alive');
  });

  it('should refuse a layout it does not know, and a migration under way to another partition count', async () => {
    const admin = await membership();
    const schema = `{${context.prefix}}:schema`;
    const run = (partitions = P) =>
      migrateToPartitions({ redis: redis(), keyPrefix: context.prefix, partitions }).catch((error: unknown) => error);
    await admin.hSet(schema, { layout: '4', partitions: '1' });
    expect(await run()).toMatchObject({
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining('key layout 4'),
    });
    await admin.hSet(schema, { layout: '2', partitions: '16' });
    expect(await run()).toMatchObject({
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining('layout 2 with 16'),
    });
    await admin.hSet(schema, { layout: 'migrating', partitions: '16', from: '2' });
    expect(await run()).toMatchObject({ message: expect.stringContaining('finish it with --partitions 16') });
    await expect(run(1)).resolves.toBeInstanceOf(TypeError);
  });

  it('should complete a migration interrupted after any client (its copy written, its old keys not yet deleted) when run again', async () => {
    const built = await buildLayout2();
    const admin = await membership();
    const runs: MigrationSummary[] = [];
    for (let i = 0; i < 40; i++) {
      const summary = await migrateUpTo({ redis: redis(), keyPrefix: context.prefix, partitions: P, nodeTtl: 250 }, 2);
      runs.push(summary);
      if (summary.complete) break;
      // mid-way: the schema locks out nodes of either layout, and the last client copied is in both places
      expect(await admin.hGetAll(`{${context.prefix}}:schema`)).toEqual({
        layout: 'migrating',
        partitions: String(P),
        from: '2',
      });
      // the last client copied still has its old keys too (as after a kill between its copy and its delete)
      const ids = (keys: string[], tag: string) =>
        new Set(keys.map((key) => /^:[cxtoe]:(.+)$/.exec(key.slice(tag.length))?.[1]).filter((id) => id !== undefined));
      const tag = `{${context.prefix}}`;
      const old = ids(await admin.keys(`${tag}:*`), tag);
      const moved = new Set<string>();
      for (let p = 0; p < P; p++) {
        const { admin: partAdmin, keys } = await part(p);
        for (const id of ids(await partAdmin.keys(`${keys.tag}:*`), keys.tag)) moved.add(id);
      }
      expect([...old].filter((id) => moved.has(id))).toHaveLength(1);
      if (i === 0) {
        const old = await store({ nodeId: 'a', ...quiet });
        await expect(old.join()).rejects.toMatchObject({ code: 'KEY_LAYOUT_MISMATCH' });
        const early = await store({ nodeId: 'n', ...quiet, partitions: P });
        await expect(early.join()).rejects.toMatchObject({ code: 'KEY_LAYOUT_MISMATCH' });
      }
    }
    expect(runs.length).toBeGreaterThan(3);
    expect(runs.at(-1)?.complete).toBe(true);
    expect(runs.slice(0, -1).every((run) => !run.complete && run.clients === 2)).toBe(true);
    // the incarnations were ended by the first run only
    expect([...runs[0]!.endedIncarnations].sort()).toEqual(['a:1', 'b:1', 'r:1']);
    expect(runs.slice(1).every((run) => run.endedIncarnations.length === 0)).toBe(true);
    await expectMigrated(built);
    await expectServed(built);
  });

  it('should migrate a Redis of layout 1 (no schema key, a long data in its record) into compact records', async () => {
    const a = await node('a', quiet);
    const { clientId, token } = registered(await a.register({ data: long('old') }));
    claimed(await a.claim({ clientId, token, socketId: 's1' }));
    await a.close();
    const admin = await membership();
    const tag = `{${context.prefix}}`;
    // what a release of layout 1 wrote: the data in the record, no schema key
    const data = await admin.get(`${tag}:x:${clientId}`);
    await admin.hSet(`${tag}:c:${clientId}`, 'data', data!);
    await admin.del([`${tag}:x:${clientId}`, `${tag}:schema`]);
    await sleep(60);
    const summary = await migrateToPartitions({
      redis: redis(),
      keyPrefix: context.prefix,
      partitions: P,
      nodeTtl: 50,
    });
    expect(summary).toMatchObject({ from: 1, clients: 1, records: 1, complete: true });
    const { admin: partAdmin, keys } = await part(partitionOf(clientId, P));
    expect(await partAdmin.hExists(keys.client(clientId), 'data')).toBeFalsy();
    expect(await partAdmin.get(keys.data(clientId))).toBe(data);
    await expectConsistent(partAdmin, inner(partitionOf(clientId, P)));
    const n = await node('n', { ...quiet, partitions: P });
    expect(await n.get(clientId)).toMatchObject({ data: long('old'), state: 'connected' });
  });

  it('should complete a run killed mid-way (SIGKILL) when run again, every client moved once with its keys intact', async () => {
    const a = await node('a', quiet);
    const ids: string[] = [];
    for (let i = 0; i < 3000; i += 250) {
      await Promise.all(
        Array.from({ length: 250 }, async (_, j) => {
          const { clientId, token } = registered(
            await a.register({ data: (i + j) % 3 === 0 ? long(`${i + j}`) : i + j }),
          );
          ids.push(clientId);
          if ((i + j) % 2 === 0) claimed(await a.claim({ clientId, token, socketId: `s${i + j}` }));
        }),
      );
    }
    const before = new Map<string, ClusterClientRecord>();
    for (const id of ids) before.set(id, (await a.get(id))!);
    await a.close();
    await sleep(60);
    const args = cliArgs(['--node-ttl', '50', '--batch', '50', '--progress-every', '1']);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // killed at its first progress line: some clients moved, most not, one batch perhaps half-way
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(' clients, ')) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => resolve(signal ?? code));
    });
    expect(exit).toBe('SIGKILL');
    const admin = await membership();
    expect(await admin.hGet(`{${context.prefix}}:schema`, 'layout')).toBe('migrating');
    const left = await admin.keys(`{${context.prefix}}:c:*`);
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(ids.length);
    const summary = await migrateToPartitions({
      redis: redis(),
      keyPrefix: context.prefix,
      partitions: P,
      nodeTtl: 50,
    });
    expect(summary).toMatchObject({ complete: true, clients: left.length, endedIncarnations: [] });
    // only the membership is left under the old tag
    const old = (await admin.keys(`{${context.prefix}}:*`)).map((key) => key.split(':')[1]).sort();
    expect(old).toEqual(['meta', 'node', 'reaping', 'schema']);
    let records = 0;
    for (let i = 0; i < P; i++) {
      const { admin: partAdmin, keys } = await part(i);
      records += (await partAdmin.keys(`${keys.tag}:c:*`)).length;
      await expectConsistent(partAdmin, inner(i));
    }
    expect(records).toBe(ids.length);
    const n = await node('n', { ...quiet, partitions: P });
    for (const id of ids) expect(await n.get(id)).toEqual(before.get(id));
  }, 60_000);

  it('should run as `npm run migrate:partitions`: the summary on stdout, progress on stderr, exit code 1 when refused', async () => {
    const run = promisify(execFile);
    const cli = (extra: string[]) =>
      run(process.execPath, cliArgs(extra), { env: { ...process.env, NODE_ENV: 'production' } });
    const a = await node('a', quiet);
    const { clientId, token } = registered(await a.register());
    claimed(await a.claim({ clientId, token, socketId: 's1' }));
    const refused = await cli([]).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('node "a" is alive') });
    await a.close();
    await sleep(60);
    const { stdout, stderr } = await cli(['--node-ttl', '50', '--progress-every', '1']);
    expect(JSON.parse(stdout)).toMatchObject({ clients: 1, records: 1, complete: true, endedIncarnations: ['a:1'] });
    expect(stderr).toContain('migrate:partitions: 1 clients');
    expect(stderr).toContain(`done, moved 1 clients`);
    const usage = await run(process.execPath, ['--import', 'tsx', 'scripts/migrate-partitions.ts']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('--redis and --partitions are required') });
  }, 60_000);
});
