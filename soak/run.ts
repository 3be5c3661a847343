// npm run soak [-- --lifecycles N --seed S]: the full lifecycle soak, with progress and a summary.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runSoak } from './lifecycles.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const lifecycles = arg('lifecycles', 1_000_000);
const seed = arg('seed', Date.now() % 100_000);
console.log(`soak: ${lifecycles.toLocaleString('en')} lifecycles, seed ${seed}`);
const result = await runSoak({
  lifecycles,
  seed,
  gc,
  onProgress: (done, total, heapMB) =>
    console.log(
      `  ${((done / total) * 100).toFixed(0).padStart(3)}%  ${done.toLocaleString('en')} lifecycles  heap ${heapMB.toFixed(1)} MB`,
    ),
});
const growth = (result.heapEnd - result.heapStart) / result.heapStart;
const leaks = Object.entries(result.leftovers).filter(([, n]) => n !== 0);
console.log(
  [
    '',
    `lifecycles      ${result.lifecycles.toLocaleString('en')} in ${(result.durationMs / 1000).toFixed(1)} s (${Math.round(result.lifecycles / (result.durationMs / 1000)).toLocaleString('en')}/s)`,
    `heap            start ${(result.heapStart / 2 ** 20).toFixed(2)} MB, end ${(result.heapEnd / 2 ** 20).toFixed(2)} MB (${(growth * 100).toFixed(2)}%)`,
    `onDelete        ${result.deletes.toLocaleString('en')} (double: ${result.doubleDeletes})`,
    `deleted by      ${JSON.stringify(result.deletedByReason)}`,
    `ignored by why  ${JSON.stringify(result.ignoredByWhy)}`,
    `leftovers       ${JSON.stringify(result.leftovers)}`,
  ].join('\n'),
);
const ok = result.doubleDeletes === 0 && result.deletes === lifecycles && leaks.length === 0 && growth <= 0.05;
console.log(ok ? 'soak passed' : 'soak FAILED');
process.exit(ok ? 0 : 1);
