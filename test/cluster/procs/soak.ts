import { writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import type { Socket as ClientSocket } from 'socket.io-client';
import { prng } from '../../helpers/prng.js';
import {
  CLUSTER_PARTITIONS,
  type Credentials,
  connected,
  FAST,
  type NodeProcess,
  startCluster,
  type TestCluster,
  waitFor,
} from './cluster.js';
import { partitionTag } from '../../../src/cluster/redis/keys.js';
import { prefixInSlot } from '../redisCluster.js';
import { checkInvariants, type InvariantReport } from './invariants.js';

export interface ClusterSoakResult {
  seconds: number;
  seed: number;
  faults: Record<string, number>;
  clients: number;
  handshakes: number;
  report: InvariantReport;
  /** Clients with no completed onDelete once every socket was gone and every grace period past (must be 0). */
  undeleted: number;
  /**
   * What the nodes logged about each client left undeleted, and the faults with their times, to
   * tell a bug from a run that ended too soon (empty when every client was deleted).
   */
  trace: string[];
  /** Clients whose onDelete completed more than once (must be 0). */
  doubleCompleted: number;
  onDeletes: number;
  /** Messages queued with to(clientId).emit() from random nodes during the run. */
  emitted: number;
  /** Outbox keys (and emit-id keys) left in Redis once every client was deleted (must be 0). */
  outboxesLeft: number;
  /**
   * Errors a page (a handshake) or the API (register, emit, delete) met that the run did not
   * expect: anything but `UNAVAILABLE` (retried), `CLIENT_DELETED` (the page reloads),
   * `UNKNOWN_CLIENT` after a rollback, and what a node the faults killed, paused, closed or
   * restarted answers meanwhile (must be empty).
   */
  unexpectedErrors: string[];
  /** `UNAVAILABLE` answers met by pages and the API, each retried. */
  unavailable: number;
  /** With `redisCluster`: the slot moves by kind (`atomic move`, `batched move`, `redis-cli --cluster reshard`). */
  moves: Record<string, number>;
  /**
   * With `redisCluster`: the longest move of each kind, ms from its start to every master agreeing
   * on the new owner (the slot is split for part of it: from the first `MIGRATE` to the last
   * `SETSLOT … NODE` on the source).
   */
  longestMoveMs: Record<string, number>;
  /** With `redisCluster`: the longest a batched move kept the slot split (its keys on two masters), ms. */
  longestSplitMs: number;
  /** With `redisCluster`: keys of the prefix on a master that does not own its slot at the end (must be 0). */
  keysElsewhere: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Three node processes, a Redis with AOF, browsers that connect, drop and come back on random
 * nodes, and faults at random: kill -9 (sometimes during an onDelete), SIGSTOP past nodeTtl, kicks
 * from any node, Redis restarts from its AOF, Redis paused, rolling restarts. At the end every
 * socket goes away, every grace period runs out, and the invariants are checked on the nodes' logs;
 * every client must then have exactly one completed onDelete.
 *
 * `networkFaults` (issue 19's faults; `npm run soak:cluster -- --network-faults`, and 24 s of it in
 * `npm test`): every
 * node reaches Redis through a fault proxy, browsers send app events (`app:echo`), and the faults
 * add partitions shorter and longer than nodeTtl, late replies (held past commandTimeout), a slow
 * link, and Redis rolled back to a snapshot taken seconds before; the invariants then include
 * "nothing served outside a lease" on hooks too, and the ownership hooks' pairing at rest.
 */
export async function runClusterSoak(options: {
  seconds: number;
  seed?: number;
  browsers?: number;
  networkFaults?: boolean;
  /**
   * On a 3-master Redis Cluster (`npm run soak:reshard`): the slot of every key (`{prefix}`, a
   * prefix whose slot is 0) moves between the masters again and again while the browsers run:
   * atomic moves, batched moves (`MIGRATE` a few keys at a time, the slot split meanwhile, sized
   * to stay under nodeTtl: docs/cluster-redis.md, "Moving the slot of every key"), and `redis-cli --cluster
   * reshard` of that slot and the owner's next few. The Redis faults (restart, pause) become kill
   * -9 and SIGSTOP of a node during a move. With `networkFaults` too (`npm run soak:reshard --
   * --network-faults`), each node reaches every master through a fault proxy of its own
   * (`startCluster`'s `nodeAddressMap`), and the Redis rollback's turn becomes a partition past
   * nodeTtl during a slot move.
   */
  redisCluster?: boolean;
  /** Called every 5 s with a line on the run's progress (and while it waits for every client deleted). */
  onProgress?: (line: string) => void;
  /**
   * Give up after this many ms (from the call): the run then rejects with its seed and what is
   * still pending (the step each browser and the fault loop is awaiting, the nodes, the clients not
   * deleted and what Redis still holds), and writes the trace of the clients not deleted to
   * /tmp/cluster-soak-<seed>.trace, instead of hanging until the test's own timeout (which names
   * nothing). No deadline when not given.
   */
  deadlineMs?: number;
}): Promise<ClusterSoakResult> {
  const seed = options.seed ?? (Number(process.env.SOAK_SEED) || Date.now() % 100_000);
  const calledAt = Date.now();
  const rand = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const progress = options.onProgress ?? (() => {});
  const networkFaults = options.networkFaults === true;
  const onRedisCluster = options.redisCluster === true;
  const cluster: TestCluster = await startCluster(3, {
    redis: { appendonly: true, appendfsync: 'always' },
    node: { handshakeTimeout: 4000 },
    ...(networkFaults ? { proxied: [0, 1, 2] } : {}),
    // slot 0: the lowest slot of whichever master holds it, the first a reshard from it takes
    ...(onRedisCluster ? { redisCluster: true, prefix: prefixInSlot(0) } : {}),
  });
  const tag = `{${cluster.prefix}}`;
  /**
   * On the Redis Cluster the nodes run CLUSTER_PARTITIONS partitions (key layout 3): the tags of
   * every key, the membership's first; one redis-server holds every key under `tag`.
   */
  const tags = onRedisCluster
    ? [
        tag,
        ...Array.from({ length: CLUSTER_PARTITIONS }, (_, i) => partitionTag(cluster.prefix, i, CLUSTER_PARTITIONS)),
      ]
    : [tag];
  const faults: Record<string, number> = {};
  const timeline: string[] = [];
  const count = (name: string) => {
    faults[name] = (faults[name] ?? 0) + 1;
    timeline.push(`${Date.now()} fault ${name}`);
  };
  const registered: Credentials[] = [];
  let handshakes = 0;
  let emitted = 0;
  /** What each browser, the fault loop and the quiesce step are awaiting now (for the deadline). */
  const steps = new Map<string, string>();
  const step = <T>(who: string, what: string, work: Promise<T>): Promise<T> => {
    steps.set(who, `${what} (since ${Date.now() - calledAt} ms)`);
    return work.finally(() => steps.set(who, 'idle'));
  };
  let phase = 'running';
  const unexpectedErrors: string[] = [];
  let unavailable = 0;
  const moves: Record<string, number> = {};
  const longestMoveMs: Record<string, number> = {};
  let longestSplitMs = 0;
  /** When a fault last killed, paused, resumed, closed, started or restarted each node. */
  const disturbed = new Map<string, number>();
  const disturb = (node: NodeProcess) => disturbed.set(node.nodeId, Date.now());
  /**
   * Whether an error a page or the API met is one the run expects: `UNAVAILABLE` (counted, and
   * retried by the caller), `CLIENT_DELETED` (the page reloads), `UNKNOWN_CLIENT` after a rollback
   * lost the client (docs/cluster-redis.md), or anything from a node the faults disturbed since
   * `since` or in the second before it (a refused connection, `SHUTTING_DOWN`, a handshake dropped
   * by kill -9, its IPC channel gone). Anything else is recorded as unexpected and fails the run.
   */
  const judge = (what: string, node: NodeProcess | undefined, since: number, error: unknown): void => {
    const code = (error as { code?: string }).code;
    if (code === 'UNAVAILABLE') {
      unavailable += 1;
      return;
    }
    if (code === 'CLIENT_DELETED' || (code === 'UNKNOWN_CLIENT' && networkFaults)) return;
    if (node && (!node.serving || (disturbed.get(node.nodeId) ?? 0) >= since - 1000)) return;
    const message = error instanceof Error ? error.message : String(error);
    unexpectedErrors.push(
      `${Date.now() - calledAt} ms (t ${Date.now()}) ${what}${node ? ` on ${node.nodeId}` : ''}: ${code ?? ''} ${message}`,
    );
  };
  /** The slot move running now (with `redisCluster`), for the faults that strike during one. */
  let moving: Promise<unknown> | null = null;
  const run = async (): Promise<ClusterSoakResult> => {
    const live = () => cluster.nodes.filter((node) => node.serving);

    /** A browser: one client at a time; a new page (new client) once its client is gone. */
    async function browser(who: string, until: number): Promise<void> {
      let credentials: Credentials | null = null;
      let socket: ClientSocket | null = null;
      while (Date.now() < until) {
        try {
          if (credentials === null) {
            const nodes = live();
            if (nodes.length === 0) {
              await sleep(100);
              continue;
            }
            const node = pick(nodes);
            const since = Date.now();
            const [fresh] = await step(who, `register on ${node.nodeId}`, node.register()).catch((error: unknown) => {
              judge('register', node, since, error);
              return [];
            });
            if (!fresh) {
              await sleep(100);
              continue;
            }
            credentials = fresh;
            registered.push(fresh);
          }
          if (socket === null || !socket.connected) {
            const nodes = live();
            if (nodes.length === 0) {
              await sleep(100);
              continue;
            }
            const node = pick(nodes);
            const since = Date.now();
            socket = cluster.connect(node, credentials!);
            try {
              await step(who, `handshake of ${credentials!.clientId} on ${node.nodeId}`, connected(socket));
              handshakes += 1;
            } catch (error) {
              const code = (error as { code?: string }).code;
              judge(`handshake of ${credentials!.clientId}`, node, since, error);
              socket = null;
              // the client is gone: a reload makes a new one
              if (code === 'CLIENT_DELETED' || code === 'UNKNOWN_CLIENT') credentials = null;
              await sleep(50 + rand() * 150);
              continue;
            }
            socket.once('supervisor:deleted', () => {
              credentials = null;
            });
          }
          await sleep(100 + rand() * 900);
          // an app event: which node served it, and when, is in that node's log (invariant 5)
          if (networkFaults && socket.connected) socket.emit('app:echo', handshakes);
          // a message to this client from any node: its outbox lives (and dies) with it in Redis
          const sender = live();
          if (sender.length > 0 && credentials !== null) {
            const node = pick(sender);
            const since = Date.now();
            const queued = await step(
              who,
              `emit to ${credentials.clientId} on ${node.nodeId}`,
              node.command<boolean>('emit', { clientId: credentials.clientId, event: 'note', args: [emitted] }),
            ).catch((error: unknown) => {
              judge(`emit to ${credentials?.clientId}`, node, since, error);
              return false;
            });
            if (queued) emitted += 1;
          }
          const roll = rand();
          if (roll < 0.25) {
            socket.disconnect();
            socket = null;
            // sometimes longer than the grace period
            await sleep(rand() < 0.2 ? FAST.reconnectTimeout + 300 : rand() * 500);
          } else if (roll < 0.3) {
            socket.disconnect();
            socket = null;
            credentials = null;
          }
        } catch (error) {
          unexpectedErrors.push(`${Date.now() - calledAt} ms ${who}: ${String(error)}`);
          await sleep(100);
        }
      }
      socket?.disconnect();
    }

    /**
     * Issue 19's faults, between one node and Redis (through its proxy) or of Redis itself. They
     * take turns (durations and victims stay random) and come first, so even a short run has the
     * three that matter most: a partition past nodeTtl, late replies, a rollback.
     */
    let networkTurn = 0;
    async function networkFault(victim: NodeProcess): Promise<void> {
      const proxy = cluster.proxy(victim);
      const { nodeTtl, commandTimeout } = cluster.nodeOptions;
      const turn = networkTurn++ % 5;
      if (turn === 0) {
        count('partition past nodeTtl');
        proxy.blackhole();
        await sleep(nodeTtl + 500 + rand() * 1500);
        // healed over a slow link: heartbeat, sweep and reap replies overlap
        proxy.delay(100 + rand() * 200);
        await sleep(1000);
        proxy.pass();
      } else if (turn === 1) {
        count('late replies (held past commandTimeout)');
        proxy.hold();
        await sleep(commandTimeout + 100 + rand() * 500);
        proxy.release();
      } else if (turn === 2 && onRedisCluster) {
        await duringMove('partition past nodeTtl during a slot move', async () => {
          proxy.blackhole();
          await sleep(nodeTtl + 500 + rand() * 1500);
          proxy.pass();
        });
      } else if (turn === 2) {
        count('Redis rollback (older AOF)');
        const snapshot = await cluster.redis.snapshot();
        await sleep(1000 + rand() * 2000);
        await cluster.redis.restartFrom(snapshot);
      } else if (turn === 3) {
        count('short partition');
        proxy.blackhole();
        await sleep(300 + rand() * (nodeTtl - 800));
        proxy.pass();
      } else {
        count('slow link');
        proxy.delay(100 + rand() * 300);
        await sleep(1000 + rand() * 2000);
        proxy.pass();
      }
    }

    async function fault(): Promise<void> {
      // drawn in the same order as without networkFaults, so a seed replays the same run
      const roll = rand();
      const nodes = live();
      if (nodes.length < 3) return;
      const victim = pick(nodes);
      // the first three faults are network ones, then four in ten
      if (networkFaults && (networkTurn < 3 || rand() < 0.4)) {
        await networkFault(victim);
        return;
      }
      if (roll < 0.2) {
        count('kill -9');
        await kill(victim);
      } else if (roll < 0.35) {
        count('SIGSTOP past nodeTtl');
        await stop(victim);
      } else if (roll < 0.55) {
        count('kick');
        const target = pick(registered);
        const kicker = pick(nodes);
        const since = Date.now();
        if (target)
          await kicker
            .command('delete', { clientId: target.clientId })
            .catch((error: unknown) => judge(`kick of ${target.clientId}`, kicker, since, error));
      } else if (roll < 0.65) {
        // on a Redis Cluster: a node killed while the slot of every key is moving
        if (onRedisCluster) await duringMove('kill -9 during a slot move', () => kill(victim));
        else {
          count('Redis restart (AOF)');
          await step('faults', 'Redis restart', cluster.redis.restart());
        }
      } else if (roll < 0.75) {
        if (onRedisCluster) await duringMove('SIGSTOP during a slot move', () => stop(victim));
        else {
          count('Redis paused');
          cluster.redis.pause();
          await sleep(500 + rand() * 2500);
          cluster.redis.resume();
        }
      } else if (roll < 0.88) {
        count('rolling restart (leave)');
        disturb(victim);
        await step('faults', `${victim.nodeId} close`, victim.close());
        disturb(victim);
        await step('faults', `${victim.nodeId} start`, victim.restart());
        disturb(victim);
      } else {
        await step('faults', `${victim.nodeId} slowDelete 30 s`, victim.command('slowDelete', { ms: 30_000 }));
        // a client still alive, if one can be found among the recent ones
        let hit = false;
        for (const target of registered.slice(-10).reverse()) {
          const since = Date.now();
          hit = await step(
            'faults',
            `${victim.nodeId} delete ${target.clientId}`,
            victim.command<boolean>('delete', { clientId: target.clientId }),
          ).catch((error: unknown) => {
            judge(`delete of ${target.clientId}`, victim, since, error);
            return false;
          });
          if (hit) break;
        }
        count(hit ? 'kill -9 during onDelete' : 'kill -9 (no client left to delete)');
        await sleep(200);
        disturb(victim);
        await step('faults', `${victim.nodeId} kill`, victim.kill());
        await sleep(500);
        await step('faults', `${victim.nodeId} restart`, victim.restart());
        disturb(victim);
      }
    }

    async function kill(victim: NodeProcess): Promise<void> {
      disturb(victim);
      await step('faults', `${victim.nodeId} kill`, victim.kill());
      await sleep(500 + rand() * 1500);
      await step('faults', `${victim.nodeId} restart`, victim.restart());
      disturb(victim);
    }

    async function stop(victim: NodeProcess): Promise<void> {
      disturb(victim);
      victim.pause();
      await sleep(FAST.nodeTtl + 500 + rand() * 1000);
      victim.resume();
      disturb(victim);
    }

    /** Waits (up to 5 s) for the mover to start a move, then runs `fault` during it. */
    async function duringMove(name: string, fault: () => Promise<void>): Promise<void> {
      const deadline = Date.now() + 5000;
      while (moving === null && Date.now() < deadline) await sleep(10);
      count(moving === null ? `${name} (no move came)` : name);
      await fault();
    }

    /**
     * With `redisCluster`: moves the slot of every key to another master, again and again, until
     * `until`. Its own random stream, so the faults of a seed are drawn as without it.
     */
    async function mover(until: number): Promise<void> {
      const redisCluster = cluster.redisCluster!;
      const random = prng(seed + 1);
      const slots = tags.map((t) => redisCluster.slotOf(t));
      while (Date.now() < until) {
        await sleep(300 + random() * 1500);
        if (Date.now() >= until) break;
        try {
          await moveOnce();
        } catch (error) {
          unexpectedErrors.push(`${Date.now() - calledAt} ms a slot move failed: ${String(error)}`);
          return;
        } finally {
          moving = null;
          steps.set('mover', 'idle');
        }
      }

      async function moveOnce(): Promise<void> {
        // the membership's slot a third of the time, else one partition's
        const slot = random() < 1 / 3 ? slots[0]! : slots[1 + Math.floor(random() * (slots.length - 1))]!;
        const from = await redisCluster.ownerOf(slot);
        const others = (await redisCluster.masters()).filter((master) => master.id !== from.id);
        const to = others[Math.floor(random() * others.length)]!;
        const roll = random();
        const started = Date.now();
        let kind: string;
        let work: Promise<unknown>;
        if (roll < 0.35) {
          kind = 'atomic move';
          work = redisCluster.moveSlot(slot, to);
        } else if (roll < 0.7) {
          // at most 4 batches, 10 to 40 ms apart: the slot is split for under nodeTtl even on a
          // loaded machine (each batch is two redis-cli processes; a split longer than nodeTtl
          // ends every node's lease: no heartbeat runs meanwhile; docs/cluster-redis.md, "Moving
          // the slot of every key")
          kind = 'batched move';
          const keys = Number(await redisCluster.cli(from, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
          work = redisCluster.moveSlot(slot, to, {
            batch: Math.max(2, Math.ceil(keys / 4)),
            pauseMs: 10 + random() * 30,
            onSplit: (ms) => {
              longestSplitMs = Math.max(longestSplitMs, Math.round(ms));
            },
          });
        } else {
          // that slot and the owner's next few (a reshard takes a source's lowest slots first)
          kind = 'redis-cli --cluster reshard';
          work = redisCluster.reshard(from, to, 1 + Math.floor(random() * 8), {
            pipeline: 1 + Math.floor(random() * 10),
          });
        }
        moving = work;
        await step('mover', `${kind} of slot ${slot} from ${from.port} to ${to.port}`, work);
        moves[kind] = (moves[kind] ?? 0) + 1;
        timeline.push(`${Date.now()} move ${kind} to ${to.port} (${Date.now() - started} ms)`);
        longestMoveMs[kind] = Math.max(longestMoveMs[kind] ?? 0, Date.now() - started);
      }
    }

    const started = Date.now();
    const until = started + options.seconds * 1000;
    const browsers = Array.from({ length: options.browsers ?? 40 }, (_, i) => browser(`browser ${i}`, until));
    const progressLine = () => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      progress(
        `  ${String(elapsed).padStart(4)} s  ${registered.length} clients, ${handshakes} handshakes, ${unavailable} UNAVAILABLE retried, ${unexpectedErrors.length} unexpected errors, faults ${JSON.stringify(faults)}${onRedisCluster ? `, moves ${JSON.stringify(moves)}` : ''}`,
      );
    };
    const ticker = setInterval(progressLine, 5000);
    const chaos = (async () => {
      while (Date.now() < until) {
        await sleep(1000 + rand() * 3000);
        if (Date.now() >= until) break;
        await fault().catch((error: unknown) => {
          unexpectedErrors.push(`${Date.now() - calledAt} ms a fault failed: ${String(error)}`);
        });
        steps.set('faults', 'idle');
      }
    })();
    try {
      await Promise.all([...browsers, chaos, ...(onRedisCluster ? [mover(until)] : [])]);
    } finally {
      clearInterval(ticker);
    }
    progressLine();
    phase = 'quiescing (nodes restarted, then every client deleted)';

    // quiesce: every node up, every socket gone; then every client must be deleted, once
    for (const node of cluster.nodes) {
      if (node.paused) node.resume();
      if (!node.alive) await step('quiesce', `restart of ${node.nodeId}`, node.restart());
    }
    for (const node of cluster.nodes)
      await step('quiesce', `slowDelete 0 on ${node.nodeId}`, node.command('slowDelete', { ms: 0 }));
    progress('  quiescing: every socket gone, waiting for every client to be deleted');
    // 'gone' is the reply to a retried completion whose first attempt ran unanswered (Redis paused,
    // commandTimeout): the journal entry of that very deletion id is already removed
    // (src/cluster/redis/lua/completeDeletion.ts, "'gone': already completed (a replay)"). It
    // counts as this client deleted, not as a second completion.
    const completedOnce = () => {
      const done = new Map<string, number>();
      for (const entry of cluster.log()) {
        if (entry.type !== 'deletion-completed') continue;
        if (entry.outcome === 'completed') done.set(entry.clientId!, (done.get(entry.clientId!) ?? 0) + 1);
        else if (entry.outcome === 'gone' && !done.has(entry.clientId!)) done.set(entry.clientId!, 0);
      }
      return done;
    };
    const quiesceTicker = setInterval(() => {
      const done = completedOnce();
      progress(`  quiescing: ${registered.filter((c) => !done.has(c.clientId)).length} clients not deleted yet`);
    }, 5000);
    const counter = cluster.nodes[0]!;
    await waitFor(
      'every client deleted',
      async () => {
        const since = Date.now();
        const counts = await step(
          'quiesce',
          `counts on ${counter.nodeId} (waiting for every client deleted)`,
          counter.command<{ total: number }>('counts'),
        ).catch((error: unknown) => {
          judge('counts', counter, since, error);
          return { total: -1 };
        });
        if (counts.total !== 0) return false;
        // the logs read once per poll, not once per client: this process runs every node's fault
        // proxy, and reading them 300 times stalled it (every node lost Redis, a completion never landed)
        const done = completedOnce();
        return registered.every((c) => done.has(c.clientId));
      },
      60_000,
    )
      .catch(() => {})
      .finally(() => clearInterval(quiesceTicker));
    phase = 'checking';
    const done = completedOnce();
    const report = checkInvariants(cluster.log(), { quiescent: true, lease: networkFaults });
    // every master's outbox keys of every tag
    let outboxesLeft = 0;
    const urls = cluster.redisCluster ? cluster.redisCluster.urls : [await cluster.adminUrl()];
    for (const url of urls) {
      const admin = createClient({ url });
      admin.on('error', () => {});
      await admin.connect();
      for (const t of tags)
        outboxesLeft += (await admin.keys(`${t}:o:*`)).length + (await admin.keys(`${t}:e:*`)).length;
      admin.destroy();
    }
    // nothing left behind on a master a move took a slot from
    let keysElsewhere = 0;
    if (cluster.redisCluster) {
      for (const t of tags) {
        const slot = String(cluster.redisCluster.slotOf(t));
        const owner = await cluster.redisCluster.ownerOf(Number(slot));
        for (const master of await cluster.redisCluster.masters()) {
          if (master.id === owner.id) continue;
          keysElsewhere += Number(await cluster.redisCluster.cli(master, 'CLUSTER', 'COUNTKEYSINSLOT', slot));
        }
      }
    }
    const undeleted = registered.filter((c) => !done.has(c.clientId));
    const about = new Set(undeleted.map((c) => c.clientId));
    const trace =
      undeleted.length === 0
        ? []
        : [
            ...timeline,
            ...cluster
              .log()
              .filter((e) => about.has(e.clientId ?? '') || (e.kind === 'cluster' && e.clientId === undefined))
              .map((e) => `${e.t} ${e.node}#${e.inc} ${JSON.stringify(e)}`),
          ].sort();
    // a failed run: its state and the trace of the clients it concerns, in /tmp/cluster-soak-<seed>.trace
    const named = [
      ...report.violations.flatMap((v) => /^client (\S+):/.exec(v)?.[1] ?? []),
      ...unexpectedErrors.flatMap((e) => / of (\S+) on /.exec(e)?.[1] ?? []),
    ];
    if (
      undeleted.length > 0 ||
      named.length > 0 ||
      outboxesLeft > 0 ||
      unexpectedErrors.length > 0 ||
      keysElsewhere > 0
    )
      await pendingState(
        `failed: ${undeleted.length} not deleted, ${report.violations.length} violations (${report.violations.slice(0, 5).join('; ')}), ${outboxesLeft} outbox keys left, ${keysElsewhere} keys on a master that lost the slot, ${unexpectedErrors.length} unexpected errors (${unexpectedErrors.slice(0, 3).join('; ')})`,
        named,
      );
    return {
      trace,
      seconds: options.seconds,
      seed,
      faults,
      clients: registered.length,
      handshakes,
      report,
      undeleted: registered.filter((c) => !done.has(c.clientId)).length,
      doubleCompleted: [...done.values()].filter((n) => n > 1).length,
      onDeletes: cluster.log().filter((e) => e.kind === 'hook' && e.hook === 'onDelete' && e.phase === 'start').length,
      emitted,
      outboxesLeft,
      unexpectedErrors,
      unavailable,
      moves,
      longestMoveMs,
      longestSplitMs,
      keysElsewhere,
    };
  };

  /** The run's state when the deadline came: seed, phase, pending steps, nodes, clients, Redis. */
  async function pendingState(headline: string, also: readonly string[] = []): Promise<string> {
    const log = cluster.log();
    const completed = new Set(
      log
        .filter((e) => e.type === 'deletion-completed' && (e.outcome === 'completed' || e.outcome === 'gone'))
        .map((e) => e.clientId),
    );
    const undeleted = registered.filter((c) => !completed.has(c.clientId)).map((c) => c.clientId);
    const lines = [
      `cluster soak: ${headline} (seed ${seed}, replay with SOAK_SEED=${seed}), phase: ${phase}`,
      `faults ${JSON.stringify(faults)}; ${registered.length} clients, ${handshakes} handshakes, ${emitted} emitted`,
      `pending steps: ${
        [...steps]
          .filter(([, what]) => what !== 'idle')
          .map(([who, what]) => `${who}: ${what}`)
          .join('; ') || 'none'
      }`,
      `last faults: ${timeline.slice(-3).join('; ') || 'none'} (now ${Date.now()})`,
      `nodes: ${cluster.nodes.map((n) => `${n.nodeId} ${n.alive ? (n.paused ? 'paused' : 'alive') : 'dead'} pid ${n.pid}`).join(', ')}`,
      `not deleted (no completed onDelete): ${undeleted.length}${undeleted.length > 0 ? ` (${undeleted.slice(0, 10).join(', ')}${undeleted.length > 10 ? ', ...' : ''})` : ''}`,
    ];
    const admin = createClient({
      url: await cluster.adminUrl().catch(() => 'redis://127.0.0.1:1'),
      socket: { connectTimeout: 2000, reconnectStrategy: false },
    });
    admin.on('error', () => {});
    try {
      const within = <T>(work: Promise<T>) =>
        Promise.race([work, sleep(3000).then(() => Promise.reject(new Error('Redis did not answer in 3 s')))]);
      await within(admin.connect());
      const keys = await within(admin.keys(`${tag}:*`));
      const byKind = new Map<string, number>();
      for (const key of keys) {
        const kind = key.slice(`${tag}:`.length).split(':')[0]!;
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      }
      lines.push(`Redis keys by kind: ${JSON.stringify(Object.fromEntries([...byKind].sort()))}`);
      for (const name of ['nodes', 'reaping', 'orphans', 'unheld']) {
        const key = `${tag}:${name}`;
        const type = await within(admin.type(key));
        if (type === 'set') lines.push(`${key}: ${JSON.stringify(await within(admin.sMembers(key)))}`);
        else if (type === 'hash') lines.push(`${key}: ${JSON.stringify(await within(admin.hGetAll(key)))}`);
        else if (type === 'zset') lines.push(`${key}: ${await within(admin.zCard(key))} members`);
      }
      lines.push(
        `${tag}:meta: ${JSON.stringify(await within(admin.hGetAll(`${tag}:meta`)).catch(() => 'not a hash'))}`,
      );
      const outboxes = keys.filter((k) => k.startsWith(`${tag}:o:`) || k.startsWith(`${tag}:e:`));
      lines.push(`outboxes and emit ids left: ${outboxes.length}`);
      for (const clientId of undeleted.slice(0, 5)) {
        const key = `${tag}:c:${clientId}`;
        const type = await within(admin.type(key));
        const value = type === 'hash' ? JSON.stringify(await within(admin.hGetAll(key))) : type;
        lines.push(`${key}: ${value}`);
      }
    } catch (error) {
      lines.push(`Redis: ${(error as Error).message}`);
    } finally {
      admin.destroy();
    }
    const about = new Set([...undeleted, ...also]);
    const trace = [
      ...timeline,
      ...log
        .filter((e) => about.has(e.clientId ?? '') || (e.kind === 'cluster' && e.clientId === undefined))
        .map((e) => `${e.t} ${e.node}#${e.inc} ${JSON.stringify(e)}`),
    ].sort();
    const file = `/tmp/cluster-soak-${seed}.trace`;
    writeFileSync(file, `${[...lines, '', ...trace].join('\n')}\n`);
    lines.push(`trace (faults, cluster events, the clients not deleted or named): ${file}`);
    return lines.join('\n');
  }

  let timer: NodeJS.Timeout | undefined;
  try {
    const deadlineMs = options.deadlineMs;
    if (deadlineMs === undefined) return await run();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          pendingState(`deadline of ${deadlineMs} ms passed`).then(
            (state) => reject(new Error(state)),
            (error) => reject(new Error(`cluster soak: deadline passed (seed ${seed}); state unavailable: ${error}`)),
          );
        },
        Math.max(0, deadlineMs - (Date.now() - calledAt)),
      );
    });
    return await Promise.race([run(), deadline]);
  } finally {
    clearTimeout(timer);
    await cluster.stop();
  }
}

export type { NodeProcess };
