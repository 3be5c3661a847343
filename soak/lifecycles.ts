import { setTimeout as sleep } from 'node:timers/promises';
import { internalsOf } from '../src/core/internals.js';
import { createSupervisor } from '../src/index.js';
import { prng } from '../test/helpers/prng.js';

/**
 * The lifecycle soak: many full client lifecycles in-process with random interleavings, real
 * timers, then proof that nothing was left behind. Shared by `npm run soak` (1,000,000) and a
 * 50,000-lifecycle test in `npm test`.
 */
export interface SoakOptions {
  lifecycles: number;
  /** Clients alive at once; each batch is shuffled so their events interleave. */
  batch?: number;
  seed?: number;
  /** Called about every 2% with progress; never from inside the supervisor. */
  onProgress?(done: number, total: number, heapMB: number): void;
  /** Lifecycles run before the starting heap sample (default 5% of them, at least 5 batches). */
  warmup?: number;
  /** gc() from --expose-gc (or v8.setFlagsFromString + vm), for heap samples. */
  gc?: () => void;
}

export interface SoakResult {
  lifecycles: number;
  durationMs: number;
  heapStart: number;
  heapEnd: number;
  deletes: number;
  doubleDeletes: number;
  deletedByReason: Record<string, number>;
  ignoredByWhy: Record<string, number>;
  leftovers: {
    records: number;
    deadlines: number;
    tombstones: number;
    systemActors: number;
    awaitingOnDelete: number;
    hookChains: number;
    eventSubscribers: number;
    activeTimers: number;
  };
}

function activeTimers(): number {
  const info = (process as unknown as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo?.() ?? [];
  return info.filter((name) => name === 'Timeout').length;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { lifecycles, batch = 1000, seed = 1, onProgress } = options;
  const gc = options.gc ?? (() => {});
  const random = prng(seed);
  const live = new Set<string>();
  let deletes = 0;
  let doubleDeletes = 0;
  const RECONNECT = 2;
  const supervisor = createSupervisor({
    reconnectTimeout: RECONNECT,
    handshakeTimeout: 60_000,
    tombstoneTtl: 5,
    pruneInterval: 0,
    hooks: {
      onDelete: (client) => {
        // exactly once per client: a second onDelete for the same id would find it gone
        if (live.delete(client.clientId)) deletes += 1;
        else doubleDeletes += 1;
      },
    },
  });
  const send = supervisor.actor.send;
  const timersAtStart = activeTimers();

  let heapStart = 0;
  // the heap is sampled once the code is warm (JIT, inline caches, V8's internal tables), so a
  // leak is told apart from the first minutes of a process
  const warmup = options.warmup ?? Math.min(lifecycles, Math.max(batch * 5, Math.floor(lifecycles / 20)));
  const started = performance.now();
  let done = 0;
  let nextReport = 0;
  while (done < lifecycles) {
    if (heapStart === 0 && done >= warmup) {
      gc();
      heapStart = process.memoryUsage().heapUsed;
    }
    const size = Math.min(batch, lifecycles - done);
    const ids: string[] = [];
    for (let i = 0; i < size; i += 1) {
      const { clientId } = supervisor.register();
      live.add(clientId);
      ids.push(clientId);
    }
    // every step of every client, shuffled across clients but in order per client
    const steps: Array<() => void> = [];
    const plans = ids.map((clientId, i) => {
      const s = `${done + i}`;
      const plan: Array<() => void> = [
        () => send({ type: 'socket.handshake', clientId, socketId: `a${s}` }),
        () => send({ type: 'socket.disconnect', clientId, socketId: `a${s}`, reason: 'transport close' }),
      ];
      const roll = random();
      if (roll < 0.25) {
        // reconnect within grace, then leave for good (deleted by the timer)
        plan.push(() => send({ type: 'socket.handshake', clientId, socketId: `b${s}` }));
        plan.push(() => send({ type: 'socket.disconnect', clientId, socketId: `b${s}`, reason: 'ping timeout' }));
      } else if (roll < 0.4) {
        // duplicate disconnect and a stale socket: both ignored
        plan.push(() => send({ type: 'socket.disconnect', clientId, socketId: `a${s}`, reason: 'transport close' }));
        plan.push(() => send({ type: 'socket.disconnect', clientId, socketId: 'stale', reason: 'transport close' }));
      } else if (roll < 0.6) {
        plan.push(() => send({ type: 'client.delete', clientId, reason: 'manual' }));
        plan.push(() => send({ type: 'client.delete', clientId, reason: 'manual' }));
      } else if (roll < 0.7) {
        // a second tab takes over, then the page is closed
        plan.unshift(() => send({ type: 'socket.handshake', clientId, socketId: `tab${s}` }));
        plan.push(() => send({ type: 'client.delete', clientId, reason: 'closed' }));
      }
      // else: the grace period expires on the host timer
      return plan;
    });
    const cursors = plans.map(() => 0);
    let remaining = plans.reduce((sum, plan) => sum + plan.length, 0);
    while (remaining > 0) {
      const i = Math.floor(random() * plans.length);
      const plan = plans[i]!;
      const at = cursors[i]!;
      if (at >= plan.length) continue;
      cursors[i] = at + 1;
      steps.push(plan[at]!);
      remaining -= 1;
    }
    // a few waiters per batch subscribe to events$ and must all be released when they settle
    const waiters = ids.slice(0, 10).map((clientId) => supervisor.connected(clientId).catch(() => undefined));
    for (const step of steps) step();
    await Promise.all(waiters);
    // let the grace timers fire, then sweep whatever a late timer left (and old tombstones)
    await sleep(RECONNECT + 1);
    supervisor.prune();
    done += size;
    if (done >= nextReport) {
      onProgress?.(done, lifecycles, process.memoryUsage().heapUsed / 2 ** 20);
      nextReport = done + Math.max(batch, Math.floor(lifecycles / 50));
    }
  }
  // every client is gone once its grace period and tombstone TTL have passed
  await sleep(10);
  supervisor.prune();
  for (let i = 0; i < 20 && live.size > 0; i += 1) await sleep(5);
  const durationMs = performance.now() - started;
  gc();
  if (heapStart === 0) heapStart = process.memoryUsage().heapUsed;
  const heapEnd = process.memoryUsage().heapUsed;
  const { store } = internalsOf(supervisor);
  const stats = supervisor.stats();
  const result: SoakResult = {
    lifecycles,
    durationMs,
    heapStart,
    heapEnd,
    deletes,
    doubleDeletes,
    deletedByReason: stats.deleted,
    ignoredByWhy: stats.ignored as Record<string, number>,
    leftovers: {
      records: store.size,
      deadlines: store.deadlines.size,
      tombstones: store.tombstoneCount,
      systemActors: Object.keys(supervisor.actor.system.getAll()).length,
      awaitingOnDelete: live.size,
      hookChains: internalsOf(supervisor).pendingHooks(),
      eventSubscribers: internalsOf(supervisor).eventSubscribers(),
      activeTimers: Math.max(0, activeTimers() - timersAtStart),
    },
  };
  await supervisor.close();
  return result;
}
