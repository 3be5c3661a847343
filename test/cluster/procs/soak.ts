import { writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import type { Socket as ClientSocket } from 'socket.io-client';
import { prng } from '../../helpers/prng.js';
import {
  type Credentials,
  connected,
  FAST,
  type NodeProcess,
  startCluster,
  type TestCluster,
  waitFor,
} from './cluster.js';
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
  const cluster: TestCluster = await startCluster(3, {
    redis: { appendonly: true, appendfsync: 'always' },
    node: { handshakeTimeout: 4000 },
    ...(networkFaults ? { proxied: [0, 1, 2] } : {}),
  });
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
  const run = async (): Promise<ClusterSoakResult> => {
    const live = () => cluster.nodes.filter((node) => node.alive && !node.paused);

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
            const [fresh] = await step(who, `register on ${node.nodeId}`, node.register());
            credentials = fresh!;
            registered.push(fresh!);
          }
          if (socket === null || !socket.connected) {
            const nodes = live();
            if (nodes.length === 0) {
              await sleep(100);
              continue;
            }
            const node = pick(nodes);
            socket = cluster.connect(node, credentials!);
            try {
              await step(who, `handshake of ${credentials!.clientId} on ${node.nodeId}`, connected(socket));
              handshakes += 1;
            } catch (error) {
              const code = (error as { code?: string }).code;
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
            const queued = await step(
              who,
              `emit to ${credentials.clientId} on ${node.nodeId}`,
              node.command<boolean>('emit', { clientId: credentials.clientId, event: 'note', args: [emitted] }),
            ).catch(() => false);
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
        } catch {
          // a node died under a command: try again
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
        await step('faults', `${victim.nodeId} kill`, victim.kill());
        await sleep(500 + rand() * 1500);
        await step('faults', `${victim.nodeId} restart`, victim.restart());
      } else if (roll < 0.35) {
        count('SIGSTOP past nodeTtl');
        victim.pause();
        await sleep(FAST.nodeTtl + 500 + rand() * 1000);
        victim.resume();
      } else if (roll < 0.55) {
        count('kick');
        const target = pick(registered);
        if (target)
          await pick(nodes)
            .command('delete', { clientId: target.clientId })
            .catch(() => {});
      } else if (roll < 0.65) {
        count('Redis restart (AOF)');
        await step('faults', 'Redis restart', cluster.redis.restart());
      } else if (roll < 0.75) {
        count('Redis paused');
        cluster.redis.pause();
        await sleep(500 + rand() * 2500);
        cluster.redis.resume();
      } else if (roll < 0.88) {
        count('rolling restart (leave)');
        await step('faults', `${victim.nodeId} close`, victim.close());
        await step('faults', `${victim.nodeId} start`, victim.start());
      } else {
        await step('faults', `${victim.nodeId} slowDelete 30 s`, victim.command('slowDelete', { ms: 30_000 }));
        // a client still alive, if one can be found among the recent ones
        let hit = false;
        for (const target of registered.slice(-10).reverse()) {
          hit = await step(
            'faults',
            `${victim.nodeId} delete ${target.clientId}`,
            victim.command<boolean>('delete', { clientId: target.clientId }),
          ).catch(() => false);
          if (hit) break;
        }
        count(hit ? 'kill -9 during onDelete' : 'kill -9 (no client left to delete)');
        await sleep(200);
        await step('faults', `${victim.nodeId} kill`, victim.kill());
        await sleep(500);
        await step('faults', `${victim.nodeId} restart`, victim.restart());
      }
    }

    const started = Date.now();
    const until = started + options.seconds * 1000;
    const browsers = Array.from({ length: options.browsers ?? 40 }, (_, i) => browser(`browser ${i}`, until));
    const chaos = (async () => {
      while (Date.now() < until) {
        await sleep(1000 + rand() * 3000);
        if (Date.now() >= until) break;
        await fault().catch(() => {});
        steps.set('faults', 'idle');
        const elapsed = Math.round((Date.now() - started) / 1000);
        progress(
          `  ${String(elapsed).padStart(4)} s  ${registered.length} clients, ${handshakes} handshakes, faults ${JSON.stringify(faults)}`,
        );
      }
    })();
    await Promise.all([...browsers, chaos]);
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
    await waitFor(
      'every client deleted',
      async () => {
        const counts = await step(
          'quiesce',
          `counts on ${cluster.nodes[0]!.nodeId} (waiting for every client deleted)`,
          cluster.nodes[0]!.command<{ total: number }>('counts'),
        ).catch(() => ({ total: -1 }));
        if (counts.total !== 0) return false;
        // the logs read once per poll, not once per client: this process runs every node's fault
        // proxy, and reading them 300 times stalled it (every node lost Redis, a completion never landed)
        const done = completedOnce();
        return registered.every((c) => done.has(c.clientId));
      },
      60_000,
    ).catch(() => {});
    phase = 'checking';
    const done = completedOnce();
    const report = checkInvariants(cluster.log(), { quiescent: true, lease: networkFaults });
    const admin = createClient({ url: cluster.redis.url });
    admin.on('error', () => {});
    await admin.connect();
    const outboxesLeft = (await admin.keys('{sup}:o:*')).length + (await admin.keys('{sup}:e:*')).length;
    admin.destroy();
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
    const named = report.violations.flatMap((v) => /^client (\S+):/.exec(v)?.[1] ?? []);
    if (undeleted.length > 0 || named.length > 0 || outboxesLeft > 0)
      await pendingState(
        `failed: ${undeleted.length} not deleted, ${report.violations.length} violations (${report.violations.slice(0, 5).join('; ')}), ${outboxesLeft} outbox keys left`,
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
    const admin = createClient({ url: cluster.redis.url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
    admin.on('error', () => {});
    try {
      const within = <T>(work: Promise<T>) =>
        Promise.race([work, sleep(3000).then(() => Promise.reject(new Error('Redis did not answer in 3 s')))]);
      await within(admin.connect());
      const keys = await within(admin.keys('{sup}:*'));
      const byKind = new Map<string, number>();
      for (const key of keys) {
        const kind = key.slice('{sup}:'.length).split(':')[0]!;
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      }
      lines.push(`Redis keys by kind: ${JSON.stringify(Object.fromEntries([...byKind].sort()))}`);
      for (const name of ['nodes', 'reaping', 'orphans', 'unheld']) {
        const key = `{sup}:${name}`;
        const type = await within(admin.type(key));
        if (type === 'set') lines.push(`${key}: ${JSON.stringify(await within(admin.sMembers(key)))}`);
        else if (type === 'hash') lines.push(`${key}: ${JSON.stringify(await within(admin.hGetAll(key)))}`);
        else if (type === 'zset') lines.push(`${key}: ${await within(admin.zCard(key))} members`);
      }
      lines.push(`{sup}:meta: ${JSON.stringify(await within(admin.hGetAll('{sup}:meta')).catch(() => 'not a hash'))}`);
      const outboxes = keys.filter((k) => k.startsWith('{sup}:o:') || k.startsWith('{sup}:e:'));
      lines.push(`outboxes and emit ids left: ${outboxes.length}`);
      for (const clientId of undeleted.slice(0, 5)) {
        const key = `{sup}:c:${clientId}`;
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
