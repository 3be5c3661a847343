import { createClient } from 'redis';
import type { Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClientView } from '../../src/cluster/index.js';
import {
  type Credentials,
  connected,
  type LogEntry,
  type NodeProcess,
  startCluster,
  type TestCluster,
  waitFor,
} from './procs/cluster.js';
import { onRedisCluster } from './helpers.js';
import { checkInvariants } from './procs/invariants.js';
import type { RedisSnapshot } from './redisServer.js';

// Issue 19: the four faults that break cluster mode's promises, each reproduced with node
// processes, a real redis-server and (for the network) a fault proxy between one node and Redis.
// Each test builds what it observed and compares it with what the issue requires in one
// assertion, so a failure shows every number at once.
//
// Those that fail before their part of issue 19 is fixed are gated, so `npm test` runs only the
// fixed ones (the rollback (3), the late claim (2), and those the node machine fixed); the others:
//   SUPERVISOR_FAULTS=1 npx vitest run test/cluster/faults.test.ts --project default
// The node processes pass the ownership hooks (onAcquire/onRelease) always. What the fix must
// provide for them (event names, error code) is listed in ASSUMED below and in procs/invariants.ts.
//
// In the `redis-cluster` project the nodes share a 3-master Redis Cluster instead, a proxied node
// reaching every master through a fault proxy of its own: (1), (2) and (4); the rollback (3)
// restores the one redis-server from a snapshot, so it runs there only.

const FAULTS = process.env.SUPERVISOR_FAULTS === '1';
/** On a 3-master Redis Cluster: the nodes' Redis option (`startCluster`), else one redis-server. */
const ON_CLUSTER = onRedisCluster();
const topology = { redisCluster: ON_CLUSTER };

/** The options of the issue's reproductions. */
const ISSUE = { nodeTtl: 2000, heartbeatInterval: 250, reconnectTimeout: 3000, commandTimeout: 1000 };

/**
 * How late after the end of its lease a node may still be seen serving: the partition starts in
 * this process and the node writes its log line after serving, both on one host clock; what is
 * left is a loaded machine's scheduling. The lease itself ends at most `nodeTtl` after the
 * partition started (its last acknowledged heartbeat was sent before).
 */
const MARGIN_MS = 250;

/** What the fix is assumed to provide (adjust here and in procs/invariants.ts together). */
const ASSUMED = {
  /** cluster$ event: the node stopped serving by itself, its lease ran out. */
  leaseLost: 'lease-lost',
  /** `client-lost` why (and onRelease why) for the clients a node lets go when its lease runs out. */
  lostWhy: 'lease-lost',
  /** SupervisorError code of a start refused because a live process heartbeats under the same nodeId. */
  duplicateCode: 'NODE_ID_IN_USE',
};

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const gone = new Set(['CLIENT_DELETED', 'UNKNOWN_CLIENT']);

/** Resolves with `connected` or the rejection code (the socket stays open when connected). */
async function outcome(socket: ClientSocket): Promise<string> {
  try {
    await connected(socket);
    return 'connected';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** A socket's life as the browser sees it: when it dropped, and why. */
function watch(socket: ClientSocket) {
  const seen = { closedAt: Number.POSITIVE_INFINITY, reason: '', told: [] as string[] };
  socket.once('disconnect', (reason) => {
    seen.closedAt = now();
    seen.reason = reason;
  });
  socket.on('supervisor:deleted', () => seen.told.push('deleted'));
  socket.on('supervisor:replaced', () => seen.told.push('replaced'));
  return seen;
}

/** Sends `app:echo` every 100 ms while connected; records each reply (which node served it) and when it came. */
function echoes(socket: ClientSocket) {
  const replies: Array<{ at: number; node: string; pid: number; inc: number }> = [];
  let n = 0;
  const timer = setInterval(() => {
    if (!socket.connected) return;
    socket.emit('app:echo', ++n, (reply: { node: string; pid: number; inc: number }) =>
      replies.push({ at: now(), ...reply }),
    );
  }, 100);
  return { replies, stop: () => clearInterval(timer) };
}

const hooksOf = (entries: LogEntry[], clientId: string, hook?: LogEntry['hook']) =>
  entries
    .filter((e) => e.kind === 'hook' && e.phase === 'start' && e.clientId === clientId && (!hook || e.hook === hook))
    .sort((a, b) => a.t - b.t);

const clusterEvents = (entries: LogEntry[], node: NodeProcess, type: string, since: number) =>
  entries.filter(
    (e) => e.kind === 'cluster' && e.node === node.nodeId && e.pid === node.pid && e.type === type && e.t > since,
  );

/** Every client record left in Redis, whatever the key layout: a hash with a `tokenHash` field. */
async function clientRecordsIn(url: string): Promise<string[]> {
  const admin = createClient({ url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const found: string[] = [];
    for await (const keys of admin.scanIterator({ COUNT: 500 })) {
      for (const key of keys) {
        if ((await admin.type(key)) === 'hash' && (await admin.hExists(key, 'tokenHash'))) found.push(key);
      }
    }
    return found;
  } finally {
    admin.destroy();
  }
}

// fixed (the lease): runs in `npm test`
describe('issue 19 (1): a node cut off from Redis for longer than nodeTtl', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { node: ISSUE, proxied: [0], ...topology });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('should stop serving before its lease ends, refuse handshakes UNAVAILABLE, and at the heal be fenced once and join once', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const proxy = cluster.proxy(n1);
    const [a, b, c] = (await n2.register(3)) as [Credentials, Credentials, Credentials];
    const names = { A: a, B: b, C: c };
    const sockets = { A: cluster.connect(n1, a), B: cluster.connect(n1, b), C: cluster.connect(n1, c) };
    await Promise.all(Object.values(sockets).map((socket) => connected(socket)));
    const seen = { A: watch(sockets.A), B: watch(sockets.B), C: watch(sockets.C) };
    const pings = { A: echoes(sockets.A), B: echoes(sockets.B), C: echoes(sockets.C) };
    await waitFor('every socket answered an echo', () => Object.values(pings).every((p) => p.replies.length > 0));

    const partitionStart = now();
    proxy.blackhole();
    const leaseEnd = partitionStart + ISSUE.nodeTtl + MARGIN_MS;
    await waitFor(
      'node-1 declared dead by another node',
      () => cluster.log().some((e) => e.type === 'nodes-dead' && e.t > partitionStart && e.nodes?.includes('node-1')),
      20_000,
    );
    const declaredDead = cluster
      .log()
      .filter((e) => e.type === 'nodes-dead' && e.t > partitionStart && e.nodes?.includes('node-1'))
      .sort((x, y) => x.t - y.t)[0]!;
    // another node deletes A; B reconnects to another node while its first socket is still open
    const deleted = await n2.command<boolean>('delete', { clientId: a.clientId });
    const deletedAt = now();
    const b2 = cluster.connect(n2, b);
    const reconnect = await outcome(b2);
    const reconnectedAt = now();
    const b2pings = echoes(b2);
    // a new client's handshake on the cut-off node
    const [newcomer] = (await n2.register()) as [Credentials];
    const handshake = await outcome(cluster.connect(n1, newcomer));
    // the partition lasts 2.5 s past nodeTtl, with echoes on every socket all along
    await sleep(Math.max(0, partitionStart + ISSUE.nodeTtl + 2500 - now()));
    // the link comes back slow (300 ms each way, what was sent during the partition delivered
    // first, as TCP does): heartbeat, sweep and reap replies overlap, as they do on a real network
    // (on loopback's 1 ms they rarely do, and a double fencing hides)
    const healedAt = now();
    proxy.delay(300);
    await waitFor(
      'node-1 joined again',
      () => clusterEvents(cluster.log(), n1, 'joined', partitionStart).length > 0,
      20_000,
    );
    // a second or third fencing would come within moments of the first
    await sleep(ISSUE.nodeTtl);
    proxy.pass();
    for (const p of [...Object.values(pings), b2pings]) p.stop();

    const entries = cluster.log();
    const served = entries.filter(
      (e) => e.kind === 'app' && e.node === 'node-1' && e.pid === n1.pid && e.t > partitionStart,
    );
    const lostByLease = entries.filter(
      (e) => e.node === 'node-1' && e.type === 'client-lost' && e.why === ASSUMED.lostWhy && e.t <= leaseEnd,
    );
    const released = entries.filter(
      (e) => e.node === 'node-1' && e.kind === 'ownership' && e.hook === 'onRelease' && e.t <= leaseEnd,
    );
    const report = checkInvariants(entries, { lease: true });
    const observed = {
      deletedByAnotherNode: deleted,
      reconnectedElsewhere: reconnect,
      newSocketAnswered: b2pings.replies.length > 0,
      handshakeOnCutOffNode: handshake,
      echoesServedAfterLeaseEnd: served.filter((e) => e.t > leaseEnd).length,
      echoesServedAfterDeclaredDead: served.filter((e) => e.t > declaredDead.t).length,
      repliesToDeletedClient: pings.A.replies.filter((r) => r.at > deletedAt).length,
      oldSocketOfReconnectedClientAnswered: pings.B.replies.filter((r) => r.at > reconnectedAt).length,
      socketsOpenAfterLeaseEnd: Object.entries(seen)
        .filter(([, s]) => !(s.closedAt <= leaseEnd))
        .map(([name]) => name),
      leaseLostEvents: clusterEvents(entries, n1, ASSUMED.leaseLost, partitionStart).filter((e) => e.t <= leaseEnd)
        .length,
      clientsLostByLease: Object.entries(names)
        .filter(([, cred]) => lostByLease.some((e) => e.clientId === cred.clientId))
        .map(([name]) => name),
      releasedByLease: Object.entries(names)
        .filter(([, cred]) => released.some((e) => e.clientId === cred.clientId && e.why === ASSUMED.lostWhy))
        .map(([name]) => name),
      fencedEvents: clusterEvents(entries, n1, 'fenced', partitionStart).length,
      joinedEvents: clusterEvents(entries, n1, 'joined', partitionStart).length,
      violations: report.violations,
    };
    const timeline = {
      declaredDeadAfterMs: Math.round(declaredDead.t - partitionStart),
      lastEchoServedAfterMs: served.length > 0 ? Math.round(served.at(-1)!.t - partitionStart) : null,
      socketsClosedAfterMs: Object.fromEntries(
        Object.entries(seen).map(([name, s]) => [
          name,
          Number.isFinite(s.closedAt) ? Math.round(s.closedAt - partitionStart) : null,
        ]),
      ),
      closeReasons: Object.fromEntries(
        Object.entries(seen).map(([name, s]) => [name, [s.reason, ...s.told].join(' ')]),
      ),
      healedAfterMs: Math.round(healedAt - partitionStart),
    };
    expect(observed, JSON.stringify(timeline)).toEqual({
      deletedByAnotherNode: true,
      reconnectedElsewhere: 'connected',
      newSocketAnswered: true,
      handshakeOnCutOffNode: 'UNAVAILABLE',
      echoesServedAfterLeaseEnd: 0,
      echoesServedAfterDeclaredDead: 0,
      repliesToDeletedClient: 0,
      oldSocketOfReconnectedClientAnswered: 0,
      socketsOpenAfterLeaseEnd: [],
      leaseLostEvents: 1,
      clientsLostByLease: ['A', 'B', 'C'],
      releasedByLease: ['A', 'B', 'C'],
      fencedEvents: 1,
      joinedEvents: 1,
      violations: [],
    });
    // the checks looked at something
    expect(report.appEvents).toBeGreaterThan(10);
  }, 120_000);
});

describe('issue 19 (2): a claim whose reply arrives after commandTimeout', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    // nodeTtl 4 s here: node-1's replies are held for about commandTimeout, which must not end its
    // lease too (that is the partition test's business)
    cluster = await startCluster(2, { node: { ...ISSUE, nodeTtl: 4000 }, proxied: [0], ...topology });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('should run onConnect exactly once when the page, refused UNAVAILABLE, retries on another node', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const proxy = cluster.proxy(n1);
    const clients = (await n2.register(3)) as Credentials[];
    const rounds: Array<{ first: string; retry: string; socket: ClientSocket; heldMs: number }> = [];
    for (const client of clients) {
      await waitFor('node-1 reaches Redis', () =>
        n1.command('counts').then(
          () => true,
          () => false,
        ),
      );
      const heldAt = now();
      proxy.hold();
      // the claim runs in Redis (connected on node-1), its reply is held past commandTimeout
      const first = await outcome(cluster.connect(n1, client));
      // the page retries on node-2 before node-1 hears back
      const socket = cluster.connect(n2, client);
      const retry = await outcome(socket);
      proxy.release();
      rounds.push({ first, retry, socket, heldMs: Math.round(now() - heldAt) });
    }
    // the late replies are in; a hook that is due runs on the client's owner
    await waitFor(
      'an onConnect for every client',
      () => clients.every((client) => hooksOf(cluster.log(), client.clientId, 'onConnect').length > 0),
      10_000,
    ).catch(() => {});
    // and only once: node-1's release of its unanswered claims, a reconcile (5 heartbeats) later
    await sleep(2000);
    const entries = cluster.log();
    const observed = await Promise.all(
      clients.map(async (client, i) => {
        const record = await n2.command<ClusterClientView | null>('get', { clientId: client.clientId });
        return {
          firstHandshake: rounds[i]!.first,
          retry: rounds[i]!.retry,
          onConnect: hooksOf(entries, client.clientId, 'onConnect').map((e) => `reconnect ${e.detail}`),
          otherHooks: hooksOf(entries, client.clientId).filter((e) => e.hook !== 'onConnect').length,
          record: record ? `${record.state} on ${record.node}` : 'none',
          retrySocketConnected: rounds[i]!.socket.connected,
        };
      }),
    );
    const where = clients.map((client) => hooksOf(entries, client.clientId).map((e) => `${e.node} ${e.hook}`));
    expect(observed, JSON.stringify({ heldMs: rounds.map((r) => r.heldMs), where })).toEqual(
      clients.map(() => ({
        firstHandshake: 'UNAVAILABLE',
        retry: 'connected',
        onConnect: ['reconnect false'],
        otherHooks: 0,
        record: 'connected on node-2',
        retrySocketConnected: true,
      })),
    );
    expect(checkInvariants(entries, { lease: true }).violations).toEqual([]);
  }, 120_000);
});

for (const kind of ['rdb', 'aof'] as const) {
  // fixed: runs in `npm test`
  describe.skipIf(ON_CLUSTER)(`issue 19 (3): Redis restored from an older snapshot (${kind.toUpperCase()})`, () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster(3, {
        // a handshake deadline that falls inside the test: \`late\` (handshaking in the snapshot,
        // connected since) must not be swept by it once Redis is rolled back
        node: { ...ISSUE, handshakeTimeout: 8000 },
        redis: kind === 'aof' ? { appendonly: true, appendfsync: 'always' } : {},
      });
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
    }, 30_000);

    it('should run onDelete once per client across the rollback, keep deleted clients deleted, leave no ghost and nothing in Redis', async () => {
      const [n1, n2, n3] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
      const log = () => cluster.log();
      const [kickedIdle, kickedLive, late, expired, steady] = (await n1.register(5)) as Credentials[] as [
        Credentials,
        Credentials,
        Credentials,
        Credentials,
        Credentials,
      ];
      const sockets: Record<string, ClientSocket> = {};
      for (const [name, node, client] of [
        ['kickedIdle', n1, kickedIdle],
        ['kickedLive', n1, kickedLive],
        ['expired', n1, expired],
        ['steady', n2, steady],
      ] as const) {
        sockets[name] = cluster.connect(node, client);
        await connected(sockets[name]!);
      }
      sockets.kickedIdle!.disconnect();
      sockets.expired!.disconnect();
      await waitFor('two clients disconnected', () =>
        [kickedIdle, expired].every((cl) => hooksOf(log(), cl.clientId, 'onDisconnect').length === 1),
      );

      const snapshot: RedisSnapshot = await cluster.redis.snapshot();
      // after the snapshot: two kicks (one disconnected, one connected), a deadline, a connect, a new client
      expect(await n2.command<boolean>('delete', { clientId: kickedIdle.clientId })).toBe(true);
      expect(await n3.command<boolean>('delete', { clientId: kickedLive.clientId })).toBe(true);
      sockets.late = cluster.connect(n2, late);
      await connected(sockets.late);
      const [fresh] = (await n3.register()) as [Credentials];
      sockets.fresh = cluster.connect(n3, fresh);
      await connected(sockets.fresh);
      const all = { kickedIdle, kickedLive, late, expired, steady, fresh };
      const deletedBefore = { kickedIdle, kickedLive, expired };
      await waitFor(
        'the three deletions completed',
        () =>
          Object.values(deletedBefore).every((cl) =>
            log().some(
              (e) => e.type === 'deletion-completed' && e.clientId === cl.clientId && e.outcome === 'completed',
            ),
          ),
        20_000,
      );
      await waitFor('onConnect of late and fresh', () =>
        [late, fresh].every((cl) => hooksOf(log(), cl.clientId, 'onConnect').length === 1),
      );

      const rolledBackAt = now();
      await cluster.redis.restartFrom(snapshot);
      // Redis was away for a moment and its lastTick is old: overdue deadlines get a fresh grace
      // (reconnectTimeout) first. Watch that long, and recovery time on top.
      await sleep(ISSUE.reconnectTimeout + 3000);

      // what Redis says now, against the sockets that are really connected
      const records = await n2.command<ClusterClientView[]>('list');
      const live = new Map(
        Object.values(sockets)
          .filter((socket) => socket.connected)
          .map((socket) => [socket.id, socket]),
      );
      const recordOf = (cl: Credentials) => {
        const record = records.find((r) => r.clientId === cl.clientId);
        return record ? `${record.state} on ${record.node}` : 'none';
      };
      const ghosts = records.filter((r) => r.state === 'connected' && !live.has(r.socketId ?? ''));
      const afterRollback = {
        records: Object.fromEntries(Object.entries(all).map(([name, cl]) => [name, recordOf(cl)])),
        ghosts: ghosts.length,
        liveSockets: Object.fromEntries(['late', 'fresh', 'steady'].map((name) => [name, sockets[name]!.connected])),
        onDeleteSoFar: Object.fromEntries(
          Object.entries(all).map(([name, cl]) => [name, hooksOf(log(), cl.clientId, 'onDelete').length]),
        ),
      };
      // the old credentials of the deleted clients
      const oldCredentials: Record<string, string> = {};
      for (const [name, cl] of Object.entries(deletedBefore)) {
        const socket = cluster.connect(n2, cl);
        const result = await outcome(socket);
        oldCredentials[name] = gone.has(result) ? 'refused' : result;
        socket.disconnect();
      }

      // at rest: every socket gone, every grace period past: each client deleted exactly once
      for (const socket of Object.values(sockets)) socket.disconnect();
      const total = () => n2.command<{ total: number }>('counts').then((counts) => counts.total);
      await waitFor('every client deleted', async () => (await total()) === 0, ISSUE.reconnectTimeout + 8000).catch(
        () => {},
      );
      // every client's deletion, not only those whose onDelete has started: a deletion swept just
      // before the counts reached 0 may not have reached its node's onDelete yet on a loaded machine
      await waitFor(
        'every deletion completed',
        () =>
          Object.values(all).every((cl) =>
            log().some((e) => e.type === 'deletion-completed' && e.clientId === cl.clientId),
          ),
        5000,
      ).catch(() => {});
      const entries = log();
      const report = checkInvariants(entries, { lease: true, quiescent: true });
      const observed = {
        ...afterRollback,
        oldCredentials,
        clientsLeft: await total(),
        onDelete: Object.fromEntries(
          Object.entries(all).map(([name, cl]) => [name, hooksOf(entries, cl.clientId, 'onDelete').length]),
        ),
        recordsLeftInRedis: (await clientRecordsIn(cluster.redis.url)).length,
        violations: report.violations,
      };
      const deletions = Object.fromEntries(
        Object.entries(all).map(([name, cl]) => [
          name,
          hooksOf(entries, cl.clientId, 'onDelete').map(
            (e) => `${e.node} ${e.detail} ${e.deletionId} +${Math.round(e.t - rolledBackAt)}ms`,
          ),
        ]),
      );
      expect(observed, JSON.stringify({ snapshotAt: snapshot.at, rolledBackAt, deletions })).toEqual({
        records: {
          kickedIdle: 'none',
          kickedLive: 'none',
          late: 'connected on node-2',
          expired: 'none',
          steady: 'connected on node-2',
          fresh: 'connected on node-3',
        },
        ghosts: 0,
        liveSockets: { late: true, fresh: true, steady: true },
        onDeleteSoFar: { kickedIdle: 1, kickedLive: 1, late: 0, expired: 1, steady: 0, fresh: 0 },
        oldCredentials: { kickedIdle: 'refused', kickedLive: 'refused', expired: 'refused' },
        clientsLeft: 0,
        onDelete: { kickedIdle: 1, kickedLive: 1, late: 1, expired: 1, steady: 1, fresh: 1 },
        recordsLeftInRedis: 0,
        violations: [],
      });
    }, 120_000);
  });
}

// fixed (join refuses a live nodeId): runs in `npm test`, but for the restart's timing (gated below)
describe('issue 19 (4): two processes with one nodeId', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(2, { node: ISSUE, ...topology });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('should refuse to start a second process under the id of a live one, and never fence the first', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const [x, y] = (await n2.register(2)) as [Credentials, Credentials];
    const sockets = { x: cluster.connect(n1, x), y: cluster.connect(n1, y) };
    await Promise.all(Object.values(sockets).map((socket) => connected(socket)));
    const seen = { x: watch(sockets.x), y: watch(sockets.y) };
    const pings = echoes(sockets.x);
    const before = (await n1.command<ClusterClientView & { fence: number }>('get', { clientId: x.clientId }))!;
    expect(before).toMatchObject({ state: 'connected', node: 'node-1' });

    const attemptAt = now();
    const duplicate = cluster.spawn('node-1', { file: 'node-1.duplicate' });
    const start = await duplicate.start().then(
      () => ({ outcome: 'started', message: '' }),
      (error: Error & { errorName?: string; code?: string }) => ({
        outcome: `${error.errorName ?? error.name} ${error.code ?? ''}`.trim(),
        message: error.message,
      }),
    );
    // long enough for a reaper to declare an incarnation dead, and for two processes to fence each other many times
    await sleep(2 * ISSUE.nodeTtl + 1000);
    const windowEnd = now();
    pings.stop();
    await duplicate.kill();

    const entries = cluster.log();
    const first = (type: string) => clusterEvents(entries, n1, type, attemptAt).length;
    const records = await Promise.all(
      [x, y].map((cl) => n2.command<ClusterClientView | null>('get', { clientId: cl.clientId })),
    );
    const observed = {
      duplicateStart: start.outcome,
      messageNamesTheId: start.message.includes('node-1'),
      messageSaysWhatToDo: /unique/i.test(start.message),
      firstFenced: first('fenced'),
      firstJoinedAgain: first('joined'),
      duplicateFenced: entries.filter((e) => e.type === 'fenced' && e.pid === duplicate.pid).length,
      firstSocketsClosed: Object.entries(seen)
        .filter(([, s]) => Number.isFinite(s.closedAt))
        .map(([name]) => name),
      echoesAnsweredAtTheEnd: pings.replies.filter((r) => r.at > windowEnd - 1000).length > 0,
      records: records.map((r) => (r ? `${r.state} on ${r.node}` : 'none')),
      liveNodes: (await n2.command<{ nodes: number }>('counts')).nodes,
      violations: checkInvariants(entries, { lease: true }).violations,
    };
    expect(observed, JSON.stringify({ message: start.message })).toEqual({
      duplicateStart: `SupervisorError ${ASSUMED.duplicateCode}`,
      messageNamesTheId: true,
      messageSaysWhatToDo: true,
      firstFenced: 0,
      firstJoinedAgain: 0,
      duplicateFenced: 0,
      firstSocketsClosed: [],
      echoesAnsweredAtTheEnd: true,
      records: ['connected on node-1', 'connected on node-1'],
      liveNodes: 2,
      violations: [],
    });
  }, 120_000);

  // gated: it times a process's start (spawn, compile, connect) against nodeTtl + 3 s, which a
  // loaded machine running the whole suite misses without any refusal (one attempt, started late)
  it.runIf(FAULTS)(
    'should still let a process killed with -9 be restarted under its id, within nodeTtl of the kill',
    async () => {
      const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
      const [client] = (await n2.register()) as [Credentials];
      await connected(cluster.connect(n1, client));
      await n1.kill();
      const killedAt = now();
      // a restart may be refused while the killed incarnation's heartbeat is fresh, not once it is older than nodeTtl
      let attempts = 0;
      let last = '';
      for (;;) {
        attempts += 1;
        try {
          await n1.start();
          last = 'started';
          break;
        } catch (error) {
          last = String((error as { code?: string }).code ?? error);
          if (last !== ASSUMED.duplicateCode || now() - killedAt > ISSUE.nodeTtl + 3000) break;
          await sleep(250);
        }
      }
      expect({ restart: last, withinMs: now() - killedAt <= ISSUE.nodeTtl + 3000 }, `${attempts} attempts`).toEqual({
        restart: 'started',
        withinMs: true,
      });
      // the client resumes on the restarted process
      const socket = cluster.connect(n1, client);
      expect(await outcome(socket)).toBe('connected');
    },
    60_000,
  );
});
