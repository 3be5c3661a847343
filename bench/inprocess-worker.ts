// One measurement in a fresh process: node --expose-gc --import tsx bench/inprocess-worker.ts KIND N [phases]
// Phases loop over N clients and yield to the event loop every YIELD_EVERY operations, as a server
// does between I/O events (timers, the supervisor's passivation among them, run meanwhile).
// Two parts, each on a registry of its own, both reported:
// - `burst` (issue 21's "tight burst"): register, handshake, disconnect and delete N clients
//   back to back, each phase right after the one before (keys registerPerSec … deletePerSec);
// - `events` (from rest): each phase after register starts from a registry at rest (`idle()`):
//   for the supervisor, every client passivated, as on a server whose clients went quiet, so the
//   phase includes re-creating each actor (keys rest…PerSec); the heap per idle client in each
//   state is measured there, at rest.
import { createRegistry, type RegistryKind } from './registries.js';

const [kind, nArg, phasesArg] = process.argv.slice(2) as [RegistryKind, string, string | undefined];
const n = Number(nArg);
const phases = new Set((phasesArg ?? 'all').split(','));
const all = phases.has('all');
const YIELD_EVERY = 100;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const rate = (count: number, ms: number) => count / (ms / 1000);
const result: Record<string, number> = {};
const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `op` for i in 0..count, yielding every YIELD_EVERY; returns operations per wall-clock
 * second, and books operations per second of this process's CPU time (`process.cpuUsage()`,
 * steadier on a shared machine) under `${key}Cpu`.
 */
async function timed(key: string, count: number, op: (i: number) => void): Promise<number> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    op(i);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await tick();
  }
  const used = process.cpuUsage(cpu);
  result[`${key}Cpu`] = rate(count, (used.user + used.system) / 1000);
  return rate(count, performance.now() - t);
}

// warm the code up on a throwaway registry, so small N is not measured cold (JIT)
{
  const warm = createRegistry(kind);
  for (let i = 0; i < 3000; i += 1) {
    const id = warm.register();
    warm.handshake(id, `w${i}`);
    warm.disconnect(id, `w${i}`);
    warm.handshake(id, `x${i}`);
    warm.remove(id);
  }
  await warm.close();
}
const base = heap();
const ids: string[] = new Array(n);

if (all || phases.has('burst')) {
  const burst = createRegistry(kind);
  result.registerPerSec = await timed('registerPerSec', n, (i) => {
    ids[i] = burst.register();
  });
  result.handshakePerSec = await timed('handshakePerSec', n, (i) => burst.handshake(ids[i]!, `s${i}`));
  result.disconnectPerSec = await timed('disconnectPerSec', n, (i) => burst.disconnect(ids[i]!, `s${i}`));
  result.deletePerSec = await timed('deletePerSec', n, (i) => burst.remove(ids[i]!));
  if (burst.size() !== 0) throw new Error(`${kind}: ${burst.size()} clients left after the burst's delete`);
  await tick();
  if (burst.deleted() !== n) throw new Error(`${kind}: delete hook ran ${burst.deleted()} times for ${n} clients`);
  await burst.close();
}

const registry = createRegistry(kind);
// the ids array is the benchmark's, not the registry's: subtract it (8 bytes a slot, the strings are the registry's own)
const arrayBytes = 8 * n;
const perClient = () => (heap() - base - arrayBytes) / n;

const fromRest = all || phases.has('events');
result.restRegisterPerSec = await timed('restRegisterPerSec', n, (i) => {
  ids[i] = registry.register();
});
await registry.idle();
result.heapHandshaking = perClient();

if (fromRest) {
  result.restHandshakePerSec = await timed('restHandshakePerSec', n, (i) => registry.handshake(ids[i]!, `s${i}`));
  await registry.idle();
  result.heapConnected = perClient();
  result.restDisconnectPerSec = await timed('restDisconnectPerSec', n, (i) => registry.disconnect(ids[i]!, `s${i}`));
  await registry.idle();
  result.heapDisconnected = perClient();
}
// delete with every grace (or handshake) timer still pending
result.restDeletePerSec = await timed('restDeletePerSec', n, (i) => registry.remove(ids[i]!));
if (registry.size() !== 0) throw new Error(`${kind}: ${registry.size()} clients left after delete`);
// the delete hook ran exactly once per client (hooks are async in the supervisor: let them run)
await tick();
if (registry.deleted() !== n) throw new Error(`${kind}: delete hook ran ${registry.deleted()} times for ${n} clients`);

if (all || phases.has('lifecycle')) {
  const m = Math.min(n, 100_000);
  result.lifecyclePerSec = await timed('lifecyclePerSec', m, (i) => {
    const id = registry.register();
    registry.handshake(id, `a${i}`);
    registry.disconnect(id, `a${i}`);
    registry.handshake(id, `b${i}`);
    registry.remove(id);
  });
}
if (all || phases.has('close')) {
  // close() with n connected clients, at rest
  await timed('closeSetup', n, (i) => registry.handshake(registry.register(), `c${i}`));
  delete result.closeSetupCpu;
  await registry.idle();
  const t = performance.now();
  await registry.close();
  result.closeMs = performance.now() - t;
} else {
  await registry.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
