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
}): Promise<ClusterSoakResult> {
  const seed = options.seed ?? Date.now() % 100_000;
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
  try {
    const live = () => cluster.nodes.filter((node) => node.alive && !node.paused);

    /** A browser: one client at a time; a new page (new client) once its client is gone. */
    async function browser(until: number): Promise<void> {
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
            const [fresh] = await pick(nodes).register();
            credentials = fresh!;
            registered.push(fresh!);
          }
          if (socket === null || !socket.connected) {
            const nodes = live();
            if (nodes.length === 0) {
              await sleep(100);
              continue;
            }
            socket = cluster.connect(pick(nodes), credentials!);
            try {
              await connected(socket);
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
            const queued = await pick(sender)
              .command<boolean>('emit', { clientId: credentials.clientId, event: 'note', args: [emitted] })
              .catch(() => false);
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
        await victim.kill();
        await sleep(500 + rand() * 1500);
        await victim.restart();
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
        await cluster.redis.restart();
      } else if (roll < 0.75) {
        count('Redis paused');
        cluster.redis.pause();
        await sleep(500 + rand() * 2500);
        cluster.redis.resume();
      } else if (roll < 0.88) {
        count('rolling restart (leave)');
        await victim.close();
        await victim.start();
      } else {
        await victim.command('slowDelete', { ms: 30_000 });
        // a client still alive, if one can be found among the recent ones
        let hit = false;
        for (const target of registered.slice(-10).reverse()) {
          hit = await victim.command<boolean>('delete', { clientId: target.clientId }).catch(() => false);
          if (hit) break;
        }
        count(hit ? 'kill -9 during onDelete' : 'kill -9 (no client left to delete)');
        await sleep(200);
        await victim.kill();
        await sleep(500);
        await victim.restart();
      }
    }

    const started = Date.now();
    const until = started + options.seconds * 1000;
    const browsers = Array.from({ length: options.browsers ?? 40 }, () => browser(until));
    const chaos = (async () => {
      while (Date.now() < until) {
        await sleep(1000 + rand() * 3000);
        if (Date.now() >= until) break;
        await fault().catch(() => {});
        const elapsed = Math.round((Date.now() - started) / 1000);
        progress(
          `  ${String(elapsed).padStart(4)} s  ${registered.length} clients, ${handshakes} handshakes, faults ${JSON.stringify(faults)}`,
        );
      }
    })();
    await Promise.all([...browsers, chaos]);

    // quiesce: every node up, every socket gone; then every client must be deleted, once
    for (const node of cluster.nodes) {
      if (node.paused) node.resume();
      if (!node.alive) await node.restart();
    }
    for (const node of cluster.nodes) await node.command('slowDelete', { ms: 0 });
    progress('  quiescing: every socket gone, waiting for every client to be deleted');
    const completedOnce = () => {
      const done = new Map<string, number>();
      for (const entry of cluster.log()) {
        if (entry.type === 'deletion-completed' && entry.outcome === 'completed') {
          done.set(entry.clientId!, (done.get(entry.clientId!) ?? 0) + 1);
        }
      }
      return done;
    };
    await waitFor(
      'every client deleted',
      async () => {
        const counts = await cluster.nodes[0]!.command<{ total: number }>('counts').catch(() => ({ total: -1 }));
        return counts.total === 0 && registered.every((c) => completedOnce().has(c.clientId));
      },
      60_000,
    ).catch(() => {});
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
  } finally {
    await cluster.stop();
  }
}

export type { NodeProcess };
