// npm run soak:cluster [-- --seconds N --seed S --network-faults | --redis-cluster]: 3 node processes
// and Redis under random faults for about two minutes, then the invariants on what every node wrote.
// --network-faults adds issue 19's faults (partitions, late replies, a slow link, Redis rolled back
// to an older snapshot) through a fault proxy per node.
// --redis-cluster (npm run soak:reshard): on a 3-master Redis Cluster, the slot of every key moved
// between the masters again and again (atomic moves, batched moves, redis-cli --cluster reshard);
// with --network-faults too, each node reaches every master through fault proxies of its own.
// It fails on a violated invariant, a client not deleted exactly once, a key left behind, and any
// error a page or the API met but UNAVAILABLE (retried).
import { runClusterSoak } from '../test/cluster/procs/soak.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = arg('seconds', 110);
const seed = arg('seed', Date.now() % 100_000);
const networkFaults = process.argv.includes('--network-faults');
const redisCluster = process.argv.includes('--redis-cluster');
const redis = redisCluster ? 'a 3-master Redis Cluster, the slot of every key moving' : 'Redis with AOF';
const extra = redisCluster ? ' (with network faults)' : ' (with network faults and rollbacks)';
console.log(
  `cluster soak: 3 nodes, ${redis}, ${seconds} s of random faults${networkFaults ? extra : ''}, seed ${seed}`,
);
const result = await runClusterSoak({
  seconds,
  seed,
  networkFaults,
  redisCluster,
  onProgress: (line) => console.log(line),
});
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
    ...(redisCluster
      ? [
          `slot moves       ${JSON.stringify(result.moves)}; longest (ms) ${JSON.stringify(result.longestMoveMs)}, slot split at most ${result.longestSplitMs} ms; keys left on a master without the slot: ${result.keysElsewhere}`,
        ]
      : []),
    `errors           ${result.unavailable} UNAVAILABLE (retried); unexpected: ${result.unexpectedErrors.length}`,
    ...result.unexpectedErrors.slice(0, 20).map((e) => `  ${e}`),
    `violations       ${report.violations.length}`,
    ...report.violations.slice(0, 20).map((v) => `  ${v}`),
  ].join('\n'),
);
const ok =
  report.violations.length === 0 &&
  result.undeleted === 0 &&
  result.doubleCompleted === 0 &&
  result.outboxesLeft === 0 &&
  result.keysElsewhere === 0 &&
  result.unexpectedErrors.length === 0;
if (result.trace.length > 0) {
  const file = `/tmp/cluster-soak-${seed}.trace`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, `${result.trace.join('\n')}\n`);
  console.log(`trace of the clients left undeleted: ${file}`);
}
console.log(ok ? 'cluster soak passed' : 'cluster soak FAILED');
process.exit(ok ? 0 : 1);
