// Part 4 of `npm run bench:cluster` (`--only ceiling`): the handshake ceiling of each topology
// measured on the store alone, without sockets. The lifecycle part (3) drives one node and 500
// socket.io clients on the same machine as the Redis processes; on a 2-core machine three busy
// masters, the node and the clients then compete for the cores, and a master's CPU per handshake
// rises with the competition, not with its work. Here the bench process drives the store itself
// (register, then claim: a new page's two scripts), a bounded number in flight, topologies in
// turn, round after round: each master's CPU (INFO cpu) per handshake, the busiest master's
// giving the topology's ceiling, the median of the rounds.
import { randomBytes } from 'node:crypto';
import { createCluster } from 'redis';
import { clusterClientOptions } from '../dist/cluster/redis/connection.js';
import { keySlot, partitionOf, partitionTag } from '../dist/cluster/redis/keys.js';
import { RedisClusterStore } from '../dist/cluster/redis/RedisClusterStore.js';
import { startRedisCluster } from '../test/cluster/redisCluster.js';
import { startRedisServer } from '../test/cluster/redisServer.js';
import { cpuSeconds, median, type RedisClient, redisClient } from './clusterRedis.js';

export interface CeilingRound {
  topology: string;
  /** Redis CPU µs per handshake (register + claim) on each master. */
  perMaster: number[];
}

export interface CeilingReport {
  clients: number;
  inFlight: number;
  rounds: number;
  partitions: number;
  /** Every round of every topology, in the order they ran. */
  runs: CeilingRound[];
}

/**
 * Register then claim `clients` clients through one store, `inFlight` at a time (ids drawn by
 * `id`, or the store's own); each master's CPU µs per client.
 */
async function handshakes(
  store: RedisClusterStore,
  probes: RedisClient[],
  clients: number,
  inFlight: number,
  id?: () => string,
) {
  const from = await Promise.all(probes.map(cpuSeconds));
  const credentials: Array<{ clientId: string; token: string }> = [];
  for (let i = 0; i < clients; i += inFlight) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(inFlight, clients - i) }, () =>
        store.register(id === undefined ? {} : { clientId: id() }),
      ),
    );
    for (const result of batch) if (result.outcome === 'registered') credentials.push(result);
  }
  for (let i = 0; i < credentials.length; i += inFlight) {
    await Promise.all(credentials.slice(i, i + inFlight).map((c, j) => store.claim({ ...c, socketId: `s-${i + j}` })));
  }
  const to = await Promise.all(probes.map(cpuSeconds));
  return to.map((cpu, i) => ((cpu - from[i]!) * 1e6) / clients);
}

export async function storeCeiling(options: {
  clients: number;
  inFlight: number;
  rounds: number;
  partitions: number;
  progress: (line: string) => void;
}): Promise<CeilingReport> {
  const single = await startRedisServer();
  const cluster = await startRedisCluster({ masters: 3 });
  const singleProbe = await redisClient(single.url);
  const clusterProbes = await Promise.all(cluster.urls.map((url) => redisClient(url)));
  const { url: _url, ...defaults } = clusterClientOptions(cluster.urls[0]!, 10_000);
  const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults });
  client.on('error', () => {});
  await client.connect();
  const runs: CeilingRound[] = [];
  let prefix = 0;
  try {
    const topologies = [
      { topology: '1 Redis', redis: single.url, probes: [singleProbe], partitions: 1 },
      { topology: '3-master cluster, 1 partition', redis: client, probes: clusterProbes, partitions: 1 },
      {
        topology: `3-master cluster, ${options.partitions} partitions`,
        redis: client,
        probes: clusterProbes,
        partitions: options.partitions,
      },
    ];
    // which master serves each partition (the cluster's slots do not move during the bench)
    const masters = await Promise.all(
      Array.from({ length: options.partitions }, async (_, p) => {
        const owner = await cluster.ownerOf(keySlot(partitionTag('ceiling-alone', p, options.partitions)));
        return cluster.urls.findIndex((url) => new URL(url).port === String(owner.port));
      }),
    );
    const share = cluster.urls.map((_, m) => masters.filter((owner) => owner === m).length / options.partitions);
    for (let round = 1; round <= options.rounds; round++) {
      // the partitioned cluster one master at a time: only the clients of its partitions, so it
      // runs as it would on a core of its own (here three busy masters share two cores with the
      // bench); its share of the partitions weighs its CPU per handshake
      const alone: number[] = [];
      for (let m = 0; m < cluster.urls.length; m++) {
        const store = await RedisClusterStore.connect({
          redis: client as never,
          keyPrefix: 'ceiling-alone',
          nodeId: `bench-${round}-${m}`,
          partitions: options.partitions,
          commandTimeout: 10_000,
        });
        try {
          await store.join();
          const id = () => {
            for (;;) {
              const candidate = randomBytes(16).toString('base64url');
              if (masters[partitionOf(candidate, options.partitions)] === m) return candidate;
            }
          };
          const perMaster = await handshakes(store, clusterProbes, options.clients, options.inFlight, id);
          alone.push(perMaster[m]! * share[m]!);
        } finally {
          await store.close();
        }
      }
      runs.push({
        topology: `3-master cluster, ${options.partitions} partitions, one master at a time`,
        perMaster: alone,
      });
      options.progress(
        `  round ${round}, ${options.partitions} partitions one master at a time: ${alone.map((us) => `${us.toFixed(1)} µs`).join(' · ')} per handshake (weighed by each master's share)`,
      );
      for (const { topology, redis, probes, partitions } of topologies) {
        prefix += 1;
        const store = await RedisClusterStore.connect({
          redis: redis as never,
          keyPrefix: `ceiling-${prefix}`,
          nodeId: 'bench',
          partitions,
          commandTimeout: 10_000,
        });
        try {
          await store.join();
          const perMaster = await handshakes(store, probes, options.clients, options.inFlight);
          runs.push({ topology, perMaster });
          options.progress(
            `  round ${round}, ${topology}: ${perMaster.map((us) => `${us.toFixed(1)} µs`).join(' · ')} per handshake`,
          );
        } finally {
          await store.close();
        }
      }
    }
  } finally {
    await client.close().catch(() => {});
    await Promise.all([singleProbe, ...clusterProbes].map((probe) => probe.quit()));
    await cluster.stop();
    await single.dispose();
  }
  return { ...options, runs };
}

export function ceilingMarkdown(report: CeilingReport): string[] {
  const topologies = [...new Set(report.runs.map((run) => run.topology))];
  const us = (n: number) => `${n.toFixed(1)} µs`;
  const rows = topologies.map((topology) => {
    const runs = report.runs.filter((run) => run.topology === topology);
    const busiest = runs.map((run) => Math.max(...run.perMaster));
    const total = runs.map((run) => run.perMaster.reduce((a, b) => a + b, 0));
    return {
      topology,
      busiest: median(busiest),
      min: Math.min(...busiest),
      max: Math.max(...busiest),
      total: median(total),
    };
  });
  const one = rows.find((row) => row.topology === '1 Redis') ?? rows[0]!;
  return [
    `## The handshake ceiling, on the store alone (${report.clients.toLocaleString('en')} new pages a round, ${report.inFlight} in flight, median of ${report.rounds} rounds)`,
    '',
    'Register and claim driven through the store by the bench process itself (no sockets, no node',
    "process), the topologies in turn each round; each master's CPU (INFO cpu) per handshake. A",
    "topology's ceiling is what its busiest master serves with one full core.",
    '',
    '| topology | busiest master per handshake (min–max) | all masters | ceiling | over 1 Redis |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.topology} | ${us(row.busiest)} (${us(row.min)}–${us(row.max)}) | ${us(row.total)} | ${Math.round(1e6 / row.busiest).toLocaleString('en')}/s | **${(one.busiest / row.busiest).toFixed(2)}×** |`,
    ),
    '',
    "- 'one master at a time': each master's CPU per handshake of its own partitions' clients, measured",
    '  while the others idle (as on a core of its own: here three busy masters share two cores), times',
    "  its share of the partitions; the busiest is the cluster's. issue 20's target: the partitioned",
    "  cluster's handshake ceiling ≥ 2.5× one Redis's.",
    '',
  ];
}
