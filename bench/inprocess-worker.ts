// One measurement in a fresh process: node --expose-gc --import tsx bench/inprocess-worker.ts KIND N [phases]
import { createRegistry, type RegistryKind } from './registries.js';

const [kind, nArg, phasesArg] = process.argv.slice(2) as [RegistryKind, string, string | undefined];
const n = Number(nArg);
const phases = new Set((phasesArg ?? 'all').split(','));
const all = phases.has('all');
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const rate = (count: number, ms: number) => count / (ms / 1000);
const result: Record<string, number> = {};

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
const registry = createRegistry(kind);
const ids: string[] = new Array(n);
let t = performance.now();
for (let i = 0; i < n; i += 1) ids[i] = registry.register();
result.registerPerSec = rate(n, performance.now() - t);
// the ids array is the benchmark's, not the registry's: subtract it (8 bytes a slot, the strings are the registry's own)
const arrayBytes = 8 * n;
result.heapHandshaking = (heap() - base - arrayBytes) / n;

if (all || phases.has('events')) {
  t = performance.now();
  for (let i = 0; i < n; i += 1) registry.handshake(ids[i]!, `s${i}`);
  result.handshakePerSec = rate(n, performance.now() - t);
  result.heapConnected = (heap() - base - arrayBytes) / n;
  t = performance.now();
  for (let i = 0; i < n; i += 1) registry.disconnect(ids[i]!, `s${i}`);
  result.disconnectPerSec = rate(n, performance.now() - t);
  result.heapDisconnected = (heap() - base - arrayBytes) / n;
}
// delete with every grace (or handshake) timer still pending
t = performance.now();
for (let i = 0; i < n; i += 1) registry.remove(ids[i]!);
result.deletePerSec = rate(n, performance.now() - t);
if (registry.size() !== 0) throw new Error(`${kind}: ${registry.size()} clients left after delete`);
// the delete hook ran exactly once per client (hooks are async in the supervisor: let them run)
await new Promise((resolve) => setImmediate(resolve));
if (registry.deleted() !== n) throw new Error(`${kind}: delete hook ran ${registry.deleted()} times for ${n} clients`);

if (all || phases.has('lifecycle')) {
  const m = Math.min(n, 100_000);
  t = performance.now();
  for (let i = 0; i < m; i += 1) {
    const id = registry.register();
    registry.handshake(id, `a${i}`);
    registry.disconnect(id, `a${i}`);
    registry.handshake(id, `b${i}`);
    registry.remove(id);
  }
  result.lifecyclePerSec = rate(m, performance.now() - t);
  // close() with n connected clients
  for (let i = 0; i < n; i += 1) registry.handshake(registry.register(), `c${i}`);
  t = performance.now();
  await registry.close();
  result.closeMs = performance.now() - t;
} else {
  await registry.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
