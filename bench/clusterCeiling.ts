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
  /** The round it ran in (1-based): each round's ratios compare measurements minutes apart at most. */
  round: number;
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
    // which master serves each partition of a key prefix (the cluster's slots do not move during
    // the bench), and each master's share of the partitions
    const mastersOf = (keyPrefix: string) =>
      Promise.all(
        Array.from({ length: options.partitions }, async (_, p) => {
          const owner = await cluster.ownerOf(keySlot(partitionTag(keyPrefix, p, options.partitions)));
          return cluster.urls.findIndex((url) => new URL(url).port === String(owner.port));
        }),
      );
    /** One measurement: a fresh key prefix, one live node, `clients` handshakes; µs per master. */
    const measure = async (
      redis: unknown,
      probes: RedisClient[],
      partitions: number,
      keyPrefix: string,
      id?: () => string,
    ): Promise<number[]> => {
      const store = await RedisClusterStore.connect({
        redis: redis as never,
        keyPrefix,
        nodeId: 'bench',
        partitions,
        commandTimeout: 10_000,
      });
      try {
        await store.join();
        return await handshakes(store, probes, options.clients, options.inFlight, id);
      } finally {
        await store.close();
      }
    };
    const alone = `3-master cluster, ${options.partitions} partitions, one master at a time`;
    for (let round = 1; round <= options.rounds; round++) {
      // the partitioned cluster one master at a time: only the clients of master m's partitions,
      // so it runs as it would on a core of its own (here three busy masters share two cores with
      // the bench); its share of the partitions weighs its CPU per handshake
      const weighed: number[] = [];
      const steps: Array<{ name: string; run: () => Promise<void> }> = [
        ...topologies.map(({ topology, redis, probes, partitions }) => ({
          name: topology,
          run: async () => {
            prefix += 1;
            const measured = await measure(redis, probes, partitions, `ceiling-${prefix}`);
            // with partitions, master m serves the same partitions whatever the prefix (partition
            // i's tag is in the i-th slot range); with one partition, whichever master owns the
            // prefix's slot does all the work: busiest first, so the rounds' figures line up
            const perMaster = partitions > 1 ? measured : measured.sort((a, b) => b - a);
            runs.push({ topology, round, perMaster });
            options.progress(
              `  round ${round}, ${topology}: ${perMaster.map((us) => `${us.toFixed(1)} µs`).join(' · ')} per handshake`,
            );
          },
        })),
        ...cluster.urls.map((_, m) => ({
          name: `${alone} (master ${m + 1})`,
          run: async () => {
            // a key prefix of its own, as each topology has: every measurement starts on empty
            // keys and one live node
            prefix += 1;
            const keyPrefix = `ceiling-${prefix}`;
            const masters = await mastersOf(keyPrefix);
            const share = masters.filter((owner) => owner === m).length / options.partitions;
            const id = () => {
              for (;;) {
                const candidate = randomBytes(16).toString('base64url');
                if (masters[partitionOf(candidate, options.partitions)] === m) return candidate;
              }
            };
            const perMaster = await measure(client, clusterProbes, options.partitions, keyPrefix, id);
            weighed[m] = perMaster[m]! * share;
            if (weighed.filter((us) => us !== undefined).length < cluster.urls.length) return;
            runs.push({ topology: alone, round, perMaster: weighed });
            options.progress(
              `  round ${round}, ${alone}: ${weighed.map((us) => `${us.toFixed(1)} µs`).join(' · ')} per handshake (weighed by each master's share)`,
            );
          },
        })),
      ];
      // each round starts one step further along: no topology always runs first (after the idle
      // gap of a new round) or next to the same neighbour
      for (let i = 0; i < steps.length; i++) await steps[(i + round - 1) % steps.length]!.run();
    }
  } finally {
    await client.close().catch(() => {});
    await Promise.all([singleProbe, ...clusterProbes].map((probe) => probe.quit()));
    await cluster.stop();
    await single.dispose();
  }
  return { ...options, runs };
}

/** A round's busiest master per handshake (µs). */
const busiestOf = (run: CeilingRound) => Math.max(...run.perMaster);

export function ceilingMarkdown(report: CeilingReport): string[] {
  const topologies = [...new Set(report.runs.map((run) => run.topology))];
  const us = (n: number) => `${n.toFixed(1)} µs`;
  const x = (n: number) => `${n.toFixed(2)}×`;
  const oneIn = new Map(report.runs.filter((run) => run.topology === '1 Redis').map((run) => [run.round, run]));
  const rows = topologies.map((topology) => {
    const runs = report.runs.filter((run) => run.topology === topology);
    // each master's median over the rounds, then the busiest of them: the largest of a round's
    // few noisy figures would pick the noise (more so one master at a time, measured apart)
    const perMaster = runs[0]!.perMaster.map((_, m) => median(runs.map((run) => run.perMaster[m]!)));
    const busiest = runs.map(busiestOf);
    // each round's ratio: one Redis's over this topology's busiest master, both from that round
    const ratios = runs.flatMap((run) => {
      const one = oneIn.get(run.round);
      return one === undefined ? [] : [busiestOf(one) / busiestOf(run)];
    });
    return {
      topology,
      perMaster,
      busiest: Math.max(...perMaster),
      min: Math.min(...busiest),
      max: Math.max(...busiest),
      total: median(runs.map((run) => run.perMaster.reduce((a, b) => a + b, 0))),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
    };
  });
  const one = rows.find((row) => row.topology === '1 Redis') ?? rows[0]!;
  return [
    `## The handshake ceiling, on the store alone (${report.clients.toLocaleString('en')} new pages a measurement, ${report.inFlight} in flight, ${report.rounds} rounds)`,
    '',
    'Register and claim driven through the store by the bench process itself (no sockets, no node',
    'process), every topology once a round (a fresh key prefix each, the order rotated round by round);',
    "each master's CPU (INFO cpu) per handshake, its median over the rounds. A topology's ceiling is",
    'what its busiest master serves with one full core; beside its ratio to one Redis, the spread of',
    "the rounds' own ratios (each round's busiest master against that round's one Redis).",
    '',
    '| topology | per master, median of the rounds | busiest master | all masters | ceiling | over 1 Redis (by round: min–max) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.topology} | ${row.perMaster.map(us).join(' · ')} | ${us(row.busiest)} | ${us(row.total)} | ${Math.round(1e6 / row.busiest).toLocaleString('en')}/s | **${x(one.busiest / row.busiest)}** (${x(row.ratioMin)}–${x(row.ratioMax)}) |`,
    ),
    '',
    "- 'one master at a time': each master's CPU per handshake of its own partitions' clients, measured",
    '  while the others idle (as on a core of its own: here three busy masters share two cores), times',
    "  its share of the partitions; the busiest is the cluster's. issue 20's target: the partitioned",
    "  cluster's handshake ceiling ≥ 2.5× one Redis's.",
    "- '1 partition': the masters busiest first (the master that owns the key prefix's slot does all",
    '  the work, and the prefix is new each round).',
    '',
  ];
}
