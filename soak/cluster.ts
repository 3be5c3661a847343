// npm run soak:cluster [-- --seconds N --seed S --network-faults]: 3 node processes and Redis under
// random faults for about two minutes, then the invariants on what every node wrote.
// --network-faults adds issue 19's faults (partitions, late replies, a slow link, Redis rolled back
// to an older snapshot) through a fault proxy per node.
import { runClusterSoak } from '../test/cluster/procs/soak.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = arg('seconds', 110);
const seed = arg('seed', Date.now() % 100_000);
const networkFaults = process.argv.includes('--network-faults');
console.log(
  `cluster soak: 3 nodes, Redis with AOF, ${seconds} s of random faults${networkFaults ? ' (with network faults and rollbacks)' : ''}, seed ${seed}`,
);
const result = await runClusterSoak({ seconds, seed, networkFaults, onProgress: (line) => console.log(line) });
const { report } = result;
console.log(
  [
    '',
    `clients          ${result.clients} (${result.handshakes} handshakes)`,
    `faults           ${JSON.stringify(result.faults)}`,
    `hooks checked    ${report.hooks} on ${report.clients} clients; onDelete runs ${result.onDeletes}, redelivered ${report.redeliveries}`,
    `deleted          ${report.deletedClients} clients; not deleted at the end: ${result.undeleted}; completed twice: ${result.doubleCompleted}`,
    `app events       ${report.appEvents} served; ownership hooks: ${report.acquires} onAcquire, ${report.releases} onRelease; lease ends ${report.leaseEnds}`,
    `messages         ${result.emitted} emitted from random nodes; outboxes left after every client was deleted: ${result.outboxesLeft}`,
    `violations       ${report.violations.length}`,
    ...report.violations.slice(0, 20).map((v) => `  ${v}`),
  ].join('\n'),
);
const ok =
  report.violations.length === 0 && result.undeleted === 0 && result.doubleCompleted === 0 && result.outboxesLeft === 0;
if (result.trace.length > 0) {
  const file = `/tmp/cluster-soak-${seed}.trace`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, `${result.trace.join('\n')}\n`);
  console.log(`trace of the clients left undeleted: ${file}`);
}
console.log(ok ? 'cluster soak passed' : 'cluster soak FAILED');
process.exit(ok ? 0 : 1);
