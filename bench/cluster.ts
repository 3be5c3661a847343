// npm run bench:cluster [-- --quick] [-- --clients N --runs R --population P --window MS --data B
// --only handshakes,redis,lifecycle]:
// 1. handshake throughput and latency (p50/p99) over loopback, 1 node on Redis against 1 node in
//    memory, and 3 nodes against 1, with Redis round-trips per handshake (median of R runs);
// 2. Redis itself, with P clients: bytes per client by state (MEMORY USAGE of each client's own
//    keys and its share of the shared ones, and used_memory's growth; connected clients once more
//    with a `data` of B bytes, 110 by default: issue 20's "data of about 110 B"), and the periodic load at
//    rest (Redis CPU from INFO cpu, script time and commands from INFO commandstats, over MS) of
//    an idle node, of P connected clients (heartbeats, re-checks, sweeps: per 100k clients), and
//    of one inspector page open.
// 3. Redis CPU per client lifecycle (register, handshake, disconnect, delete) with L clients through
//    one node, on one Redis and on a 3-master Redis Cluster (createCluster()), from each master's
//    INFO cpu: the handshake and lifecycle ceilings of each topology, the cluster's over one Redis's.
// 4. the handshake ceiling on the store alone (register and claim driven by the bench process, no
//    sockets): 1 Redis, and the 3-master cluster with 1 and with 256 partitions, in turn, R rounds
//    (bench/clusterCeiling.ts: why the lifecycle's cluster figures swing on a 2-core machine).
// Parts 2 and 3 run on one Redis and on a 3-master Redis Cluster it starts (the cluster's load is
// every master's, summed; its bytes are read on the master of the prefix's slot). Writes
// bench/results/cluster.json and cluster.md (--quick: cluster-quick.*; with --only, which runs those
// parts only, nothing is written). Not part of `npm test`.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { io as connectClient, type Socket } from 'socket.io-client';
import { startRedisCluster } from '../test/cluster/redisCluster.js';
import { startRedisServer } from '../test/cluster/redisServer.js';
import { type CeilingReport, ceilingMarkdown, storeCeiling } from './clusterCeiling.js';
import { connectSocket } from './sockets.js';
import {
  cpuSeconds,
  type Load,
  loadOver,
  median,
  type PrefixMemory,
  prefixMemoryOn,
  type RedisClient,
  redisClient,
  scriptCalls,
  usedMemory,
} from './clusterRedis.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const QUICK = process.argv.includes('--quick');
const CLIENTS = arg('clients', QUICK ? 1000 : 5000);
const RUNS = arg('runs', QUICK ? 1 : 3);
/** Clients in Redis for the bytes per client and the load at rest. */
const POPULATION = arg('population', QUICK ? 2000 : 10_000);
/** Each load window: the re-check of held clients runs at most every 5th heartbeat (10 s by default), when ownership moved. */
const WINDOW = arg('window', QUICK ? 10_000 : 20_000);
/** Clients taken through a whole lifecycle for Redis's CPU per lifecycle, per topology. */
const LIFECYCLE = arg('lifecycle', QUICK ? 2000 : 10_000);
/** The partition count of the partitioned cluster's lifecycle (key layout 3). */
const PARTITIONS = arg('partitions', 256);
/** The size of each client's `data` (JSON, bytes) in the memory table's last row. */
const DATA_BYTES = arg('data', 110);
/** The parts to run (`--only handshakes,redis,lifecycle`): all by default. */
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? new Set(process.argv[i + 1]!.split(',')) : null;
})();
const runs = (part: 'handshakes' | 'redis' | 'lifecycle' | 'ceiling') => ONLY === null || ONLY.has(part);
/** The ceiling part: rounds of CEILING_CLIENTS new pages through the store alone. */
const CEILING_ROUNDS = arg('ceiling-rounds', QUICK ? 3 : 5);
const CEILING_CLIENTS = arg('ceiling-clients', QUICK ? 3000 : 6000);
const IN_FLIGHT = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  child: ChildProcess;
  url: string;
  ask<T>(cmd: object): Promise<T>;
}

async function startServer(args: string[]): Promise<Server> {
  const child = fork(new URL('./cluster-server.ts', import.meta.url), args, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: Array<(reply: unknown) => void> = [];
  child.on('message', (reply) => waiting.shift()?.(reply));
  const ready = await new Promise<{ port: number }>((resolve) => waiting.push(resolve as (r: unknown) => void));
  return {
    child,
    url: `http://127.0.0.1:${ready.port}`,
    ask: <T>(cmd: object) =>
      new Promise<T>((resolve) => {
        waiting.push(resolve as (r: unknown) => void);
        child.send(cmd);
      }),
  };
}

interface Measurement {
  connectsPerSec: number;
  p50: number;
  p99: number;
  roundTripsPerHandshake: number | null;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** N handshakes spread over the servers, at most IN_FLIGHT at once; the latency of each, and the total rate. */
async function measure(servers: Server[], withRedis: boolean): Promise<Measurement> {
  const perServer = Math.ceil(CLIENTS / servers.length);
  const credentials = (
    await Promise.all(
      servers.map((server) =>
        server.ask<{ credentials: Array<{ clientId: string; token: string }> }>({ cmd: 'register', n: perServer }),
      ),
    )
  ).flatMap((reply, i) => reply.credentials.map((c) => ({ ...c, server: servers[i]! })));
  // a page is served by one node and its socket may reach any: spread them round-robin
  const targets = credentials
    .slice(0, CLIENTS)
    .map((c, i) => ({ auth: { clientId: c.clientId, token: c.token }, server: servers[i % servers.length]! }));
  const rtBefore = await Promise.all(servers.map((s) => s.ask<{ roundTrips: number }>({ cmd: 'stats' })));
  // the periodic tasks (heartbeat, sweep, reap) also talk to Redis: their rate, measured idle
  const idleMs = 1000;
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const rtIdle = await Promise.all(servers.map((s) => s.ask<{ roundTrips: number }>({ cmd: 'stats' })));
  const periodicPerMs = rtIdle.reduce((sum, r, i) => sum + r.roundTrips - rtBefore[i]!.roundTrips, 0) / idleMs;
  const latencies: number[] = [];
  const sockets: Socket[] = [];
  const started = performance.now();
  for (let i = 0; i < targets.length; i += IN_FLIGHT) {
    await Promise.all(
      targets.slice(i, i + IN_FLIGHT).map(({ auth, server }) => {
        const t0 = performance.now();
        return connectSocket(server.url, auth, sockets).then(() => {
          latencies.push(performance.now() - t0);
        });
      }),
    );
  }
  const elapsed = performance.now() - started;
  const rtAfter = await Promise.all(
    servers.map((s) => s.ask<{ roundTrips: number; connected: number }>({ cmd: 'stats' })),
  );
  const connectedCount = rtAfter.reduce((sum, r) => sum + r.connected, 0);
  if (connectedCount !== targets.length) throw new Error(`${connectedCount} of ${targets.length} connected`);
  const spent = rtAfter.reduce((sum, r, i) => sum + r.roundTrips - rtIdle[i]!.roundTrips, 0);
  for (const socket of sockets) socket.disconnect();
  latencies.sort((a, b) => a - b);
  return {
    connectsPerSec: (targets.length / elapsed) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    roundTripsPerHandshake: withRedis ? (spent - periodicPerMs * elapsed) / targets.length : null,
  };
}

/** Connects one socket per credential to `server`, at most IN_FLIGHT at once. */
async function connectAll(server: Server, credentials: Array<{ clientId: string; token: string }>): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < credentials.length; i += IN_FLIGHT) {
    await Promise.all(credentials.slice(i, i + IN_FLIGHT).map((auth) => connectSocket(server.url, auth, sockets)));
  }
  return sockets;
}

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench:cluster: timed out waiting for ${what}`);
    await sleep(200);
  }
}

const STATES = ['handshaking', 'connected', 'disconnected'] as const;

/** The rows of the memory table: each state with no `data`, then connected clients with DATA_BYTES of it. */
const MEMORY_CASES = [
  ...STATES.map((state) => ({ state, data: 0 })),
  { state: 'connected' as const, data: DATA_BYTES },
];

interface StateMemory extends PrefixMemory {
  state: (typeof STATES)[number];
  /** The size of each client's `data` (JSON, bytes); 0: none. */
  data: number;
  /** INFO memory's used_memory growth while the clients came, per client. */
  usedMemoryPerClient: number;
}

interface RestLoad {
  /** One node, no client. */
  idleNode: Load;
  /** The same node holding POPULATION connected clients, nobody watching. */
  atRest: Load;
  /** The same, with one inspector page open (its default page of 50 rows). */
  withPage: Load;
}

interface RedisReport {
  topology: string;
  population: number;
  windowMs: number;
  memory: StateMemory[];
  rest: RestLoad;
}

const fmtLoad = (load: Load) =>
  `${load.cpuMsPerSec.toFixed(1)} ms/s CPU, ${load.scriptMsPerSec.toFixed(1)} ms/s in scripts, ${Math.round(load.commandsPerSec)} commands/s`;

/** Where the Redis part runs: one Redis (`redis`), or every master of a Redis Cluster (`redis-cluster`). */
interface RedisTarget {
  mode: 'redis' | 'redis-cluster';
  masters: readonly string[];
  /** The URL of the master holding the keys of `prefix` (its `{prefix}` slot's). */
  ownerOf(prefix: string): Promise<string>;
  /** The node's partitions (key layout 3): a prefix's keys are then on every master, summed. */
  partitions?: number;
}

/** {@link loadOver} on every master at once, summed: a topology's whole load. */
async function loadOverAll(probes: RedisClient[], windowMs: number): Promise<Load> {
  const loads = await Promise.all(probes.map((probe) => loadOver(probe, windowMs)));
  return {
    cpuMsPerSec: loads.reduce((sum, load) => sum + load.cpuMsPerSec, 0),
    scriptMsPerSec: loads.reduce((sum, load) => sum + load.scriptMsPerSec, 0),
    commandsPerSec: loads.reduce((sum, load) => sum + load.commandsPerSec, 0),
  };
}

/**
 * Redis's side with POPULATION clients: a node process per state on its own key prefix (its keys
 * are then told from the others'), the memory of that prefix's keys; on the connected one, the
 * load at rest before the clients come, with them, and with an inspector page open.
 */
async function redisReport(topology: string, target: RedisTarget): Promise<RedisReport> {
  const probes = await Promise.all(target.masters.map((url) => redisClient(url)));
  const memory: StateMemory[] = [];
  let rest: RestLoad | null = null;
  try {
    for (const { state, data } of MEMORY_CASES) {
      // a prefix of its own per topology (a Redis Cluster keeps the layout each prefix was written with)
      const base = target.partitions === undefined ? 'mem' : `mem${target.partitions}`;
      const prefix = data === 0 ? `${base}-${state}` : `${base}-${state}-data`;
      // every key of a prefix is in one slot: its bytes are read on the master that owns it
      const owner = probes[target.masters.indexOf(await target.ownerOf(prefix))]!;
      const held = target.partitions === undefined ? [owner] : probes;
      const server = await startServer([
        target.mode,
        target.masters.join(','),
        `bench-${state}`,
        prefix,
        ...(target.partitions === undefined ? [] : [String(target.partitions)]),
      ]);
      let sockets: Socket[] = [];
      try {
        let idleNode: Load | null = null;
        if (state === 'connected' && data === 0) {
          console.log(`  ${topology}: an idle node, no clients, ${WINDOW / 1000} s…`);
          idleNode = await loadOverAll(probes, WINDOW);
          console.log(`    ${fmtLoad(idleNode)}`);
        }
        const memoryNow = async () => (await Promise.all(held.map(usedMemory))).reduce((a, b) => a + b, 0);
        const before = await memoryNow();
        console.log(
          `  ${topology}: ${POPULATION.toLocaleString('en')} clients ${state}${data === 0 ? '' : `, data of ${data} B`}…`,
        );
        const { credentials } = await server.ask<{ credentials: Array<{ clientId: string; token: string }> }>({
          cmd: 'register',
          n: POPULATION,
          ...(data === 0 ? {} : { data }),
        });
        if (state !== 'handshaking') {
          sockets = await connectAll(server, credentials);
          await waitUntil('the connects in Redis', async () => {
            const stats = await server.ask<{ stored: { connected: number } | null }>({ cmd: 'stats' });
            return stats.stored?.connected === POPULATION;
          });
        }
        if (state === 'disconnected') {
          for (const socket of sockets) socket.disconnect();
          // the node knows at once; Redis once its writes are committed: measured then
          await waitUntil('the disconnects in Redis', async () => {
            const stats = await server.ask<{ stored: { disconnected: number } | null }>({ cmd: 'stats' });
            return stats.stored?.disconnected === POPULATION;
          });
        }
        const grown = (await memoryNow()) - before;
        const ids = new Set(credentials.map((c) => c.clientId));
        const measured = await prefixMemoryOn(held, prefix, ids);
        memory.push({ state, data, ...measured, usedMemoryPerClient: grown / POPULATION });
        console.log(
          `    ${Math.round(measured.ownPerClient)} B own keys + ${Math.round(measured.sharedPerClient)} B shared keys per client (used_memory: ${Math.round(grown / POPULATION)} B per client)`,
        );
        if (state === 'connected' && idleNode) {
          await sleep(2000);
          console.log(`  ${topology}: at rest with them, ${WINDOW / 1000} s…`);
          const atRest = await loadOverAll(probes, WINDOW);
          console.log(`    ${fmtLoad(atRest)}`);
          const { token } = await server.ask<{ token: string }>({ cmd: 'inspect' });
          const viewer = connectClient(`${server.url}/supervisor-inspector`, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
            auth: { token },
          });
          await new Promise((resolve) => viewer.once('snapshot', resolve));
          // the page as the inspector page asks for it (an inspector without pages ignores it)
          viewer.emit('view', { limit: 50, seq: 1 });
          await sleep(1000);
          console.log(`  ${topology}: with one inspector page open, ${WINDOW / 1000} s…`);
          const withPage = await loadOverAll(probes, WINDOW);
          console.log(`    ${fmtLoad(withPage)}`);
          viewer.disconnect();
          rest = { idleNode, atRest, withPage };
        }
      } finally {
        for (const socket of sockets) socket.disconnect();
        await server.ask({ cmd: 'close' });
      }
    }
  } finally {
    await Promise.all(probes.map((probe) => probe.quit()));
  }
  return { topology, population: POPULATION, windowMs: WINDOW, memory, rest: rest! };
}

/** The Redis part as markdown: one column per topology. */
function redisMarkdown(reports: RedisReport[]): string[] {
  const header = `| | ${reports.map((r) => r.topology).join(' | ')} |`;
  const rule = `| --- |${reports.map(() => ' --- |').join('')}`;
  const row = (label: string, cell: (r: RedisReport) => string) => `| ${label} | ${reports.map(cell).join(' | ')} |`;
  const bytes = (n: number) => `${Math.round(n).toLocaleString('en')} B`;
  const per100k = (r: RedisReport, pick: (l: Load) => number) =>
    ((pick(r.rest.atRest) - pick(r.rest.idleNode)) * 100_000) / r.population;
  const lines = [
    `## Redis, ${POPULATION.toLocaleString('en')} clients (one node; load windows of ${WINDOW / 1000} s)`,
    '',
    "Bytes per client: `MEMORY USAGE … SAMPLES 0` of the client's own keys (its record: `c:<id>`, a large `data`), and of the",
    "shared keys (the state sets, the deadlines, the node's owned set and hash) divided by the clients;",
    "`used_memory` is INFO memory's growth while they came (allocator overhead included).",
    '',
    header,
    rule,
    ...MEMORY_CASES.flatMap(({ state, data }) => {
      const of = (r: RedisReport) => r.memory.find((m) => m.state === state && m.data === data)!;
      const label = data === 0 ? state : `${state}, \`data\` of ${data} B`;
      return [
        row(`${label}: own keys + share of shared keys`, (r) => {
          const m = of(r);
          return `${bytes(m.ownPerClient + m.sharedPerClient)} (${bytes(m.ownPerClient)} + ${bytes(m.sharedPerClient)})`;
        }),
        row(`${label}: used_memory growth ÷ clients`, (r) => bytes(of(r).usedMemoryPerClient)),
      ];
    }),
    '',
    'Periodic load at rest: Redis CPU (INFO cpu, `used_cpu_sys + used_cpu_user`), time in scripts and',
    "commands run (INFO commandstats, scripts' own commands counted), per second of wall time. A node",
    'heartbeats every 2 s, re-checks the clients it holds at most every 5th heartbeat, only when ownership moved in Redis, sweeps every 1 s.',
    "The per-100k rows are differences of two windows: a figure near 0 or below is within the noise of the masters' own cron (about 2.5 ms/s each).",
    '',
    header,
    rule,
    row('idle node, no clients: CPU ms/s', (r) => r.rest.idleNode.cpuMsPerSec.toFixed(1)),
    row(`${POPULATION.toLocaleString('en')} connected clients at rest: CPU ms/s`, (r) =>
      r.rest.atRest.cpuMsPerSec.toFixed(1),
    ),
    row(
      '  scripts ms/s · commands/s',
      (r) => `${r.rest.atRest.scriptMsPerSec.toFixed(2)} · ${Math.round(r.rest.atRest.commandsPerSec)}`,
    ),
    row(
      '**per 100k clients at rest: CPU ms/s** (minus the idle node)',
      (r) => `**${per100k(r, (l) => l.cpuMsPerSec).toFixed(1)}**`,
    ),
    row(
      '  per 100k: scripts ms/s · commands/s',
      (r) => `${per100k(r, (l) => l.scriptMsPerSec).toFixed(2)} · ${Math.round(per100k(r, (l) => l.commandsPerSec))}`,
    ),
    row('one inspector page open: + CPU ms/s', (r) =>
      (r.rest.withPage.cpuMsPerSec - r.rest.atRest.cpuMsPerSec).toFixed(1),
    ),
    row(
      '  + scripts ms/s · + commands/s',
      (r) =>
        `${(r.rest.withPage.scriptMsPerSec - r.rest.atRest.scriptMsPerSec).toFixed(2)} · ${Math.round(r.rest.withPage.commandsPerSec - r.rest.atRest.commandsPerSec)}`,
    ),
    '',
  ];
  return lines;
}

const PHASES = ['register', 'handshake', 'disconnect', 'delete'] as const;
type Phase = (typeof PHASES)[number];

interface LifecycleCpu {
  topology: string;
  clients: number;
  /** Redis CPU µs per client in each phase, per master (one entry for one Redis). */
  perMaster: Array<Record<Phase, number>>;
}

/**
 * LIFECYCLE clients through one node on `masters` (one Redis, or every master of a cluster):
 * registered, connected, disconnected, deleted, phase by phase; each master's CPU (INFO cpu) per
 * client in each phase, its idle rate (the node's heartbeats and sweeps, Redis's own cron),
 * measured first, taken off.
 */
async function lifecycleCpu(topology: string, masters: readonly string[], serverArgs: string[]): Promise<LifecycleCpu> {
  const probes = await Promise.all(masters.map((url) => redisClient(url)));
  const server = await startServer(serverArgs);
  let sockets: Socket[] = [];
  const cpus = () => Promise.all(probes.map((probe) => cpuSeconds(probe)));
  const stored = () =>
    server.ask<{ stored: { connected: number; disconnected: number; handshaking?: number } | null }>({ cmd: 'stats' });
  try {
    await sleep(1000);
    const idleFrom = await cpus();
    const idleStarted = performance.now();
    await sleep(QUICK ? 2000 : 5000);
    const idleTo = await cpus();
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const idleRate = idleTo.map((cpu, i) => (cpu - idleFrom[i]!) / idleSeconds);
    const perMaster = masters.map(() => ({}) as Record<Phase, number>);
    const scripts = async () => (await Promise.all(probes.map(scriptCalls))).reduce((a, b) => a + b, 0);
    const phase = async (name: Phase, work: () => Promise<void>) => {
      console.log(`  ${topology}: ${name} × ${LIFECYCLE.toLocaleString('en')}…`);
      const scriptsFrom = await scripts();
      const from = await cpus();
      const started = performance.now();
      await work();
      const to = await cpus();
      const ran = (await scripts()) - scriptsFrom;
      const seconds = (performance.now() - started) / 1000;
      to.forEach((cpu, i) => {
        perMaster[i]![name] = Math.max(0, ((cpu - from[i]! - idleRate[i]! * seconds) * 1e6) / LIFECYCLE);
      });
      console.log(
        `    ${perMaster.map((m) => `${m[name].toFixed(1)} µs`).join(' · ')} of Redis CPU per client; ${(ran / LIFECYCLE).toFixed(2)} scripts per client`,
      );
    };
    let credentials: Array<{ clientId: string; token: string }> = [];
    await phase('register', async () => {
      ({ credentials } = await server.ask<{ credentials: typeof credentials }>({ cmd: 'register', n: LIFECYCLE }));
    });
    await phase('handshake', async () => {
      sockets = await connectAll(server, credentials);
      await waitUntil('the connects in Redis', async () => (await stored()).stored?.connected === LIFECYCLE);
    });
    await phase('disconnect', async () => {
      for (const socket of sockets) socket.disconnect();
      sockets = [];
      await waitUntil('the disconnects in Redis', async () => (await stored()).stored?.disconnected === LIFECYCLE);
    });
    await phase('delete', async () => {
      const { deleted } = await server.ask<{ deleted: number }>({
        cmd: 'delete',
        ids: credentials.map((c) => c.clientId),
      });
      if (deleted !== LIFECYCLE) throw new Error(`bench:cluster: ${deleted} of ${LIFECYCLE} deleted`);
      await waitUntil('the deletes in Redis', async () => {
        const counts = (await stored()).stored;
        return counts !== null && counts.connected + counts.disconnected + (counts.handshaking ?? 0) === 0;
      });
      // each deletion's completion (its onDelete ran) is one more script, a moment later
      await sleep(1000);
    });
    return { topology, clients: LIFECYCLE, perMaster };
  } finally {
    for (const socket of sockets) socket.disconnect();
    await server.ask({ cmd: 'close' });
    await Promise.all(probes.map((probe) => probe.quit()));
  }
}

const lifecycleTotal = (cpu: Record<Phase, number>, phases: readonly Phase[] = PHASES) =>
  phases.reduce((sum, name) => sum + cpu[name], 0);
const HANDSHAKE: readonly Phase[] = ['register', 'handshake'];

/** The busiest master (most CPU over the whole lifecycle): the one that saturates first. */
const busiest = (report: LifecycleCpu) =>
  report.perMaster.reduce((a, b) => (lifecycleTotal(b) > lifecycleTotal(a) ? b : a));

/** Clients per second one topology serves before its busiest Redis core is full. */
const ceiling = (report: LifecycleCpu, phases: readonly Phase[]) => 1e6 / lifecycleTotal(busiest(report), phases);

function lifecycleMarkdown(one: LifecycleCpu, cluster: LifecycleCpu, partitioned: LifecycleCpu): string[] {
  const us = (n: number) => `${n.toFixed(1)} µs`;
  const rate = (n: number) => `${Math.round(n).toLocaleString('en')}/s`;
  const columns = (report: LifecycleCpu, phases: readonly Phase[]) => {
    const top = busiest(report);
    const others = report.perMaster.filter((m) => m !== top);
    const all = report.perMaster.reduce((sum, m) => sum + lifecycleTotal(m, phases), 0);
    return `${us(lifecycleTotal(top, phases))} | ${others.map((m) => us(lifecycleTotal(m, phases))).join(' · ')} | ${us(all)}`;
  };
  const row = (label: string, phases: readonly Phase[]) =>
    `| ${label} | ${us(lifecycleTotal(one.perMaster[0]!, phases))} | ${columns(cluster, phases)} | ${columns(partitioned, phases)} |`;
  const ratio = (report: LifecycleCpu, phases: readonly Phase[]) => ceiling(report, phases) / ceiling(one, phases);
  const parts = partitioned.topology.replace('3-master cluster, ', '');
  return [
    `## Redis CPU per client lifecycle: 1 Redis vs a 3-master Redis Cluster (${one.clients.toLocaleString('en')} clients through one node)`,
    '',
    "Each master's CPU (INFO cpu) in each phase, per client, its idle rate taken off; the one Redis",
    "is set up as the cluster's masters are (no AOF, no snapshots). A topology's ceiling is what its",
    'busiest master serves with one full core. On the cluster, first with every key under one hash tag',
    `(1 partition, key layout 2), then with the clients over ${parts} (key layout 3).`,
    '',
    `| phase | 1 Redis | 1 partition: busiest master | the other masters | all masters | ${parts}: busiest master | the other masters | all masters |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...PHASES.map((name) => row(name, [name])),
    row('**handshake** (register + handshake)', HANDSHAKE),
    row('**full lifecycle**', PHASES),
    '',
    `- handshake ceiling: 1 Redis ${rate(ceiling(one, HANDSHAKE))}; 3-master cluster, 1 partition ${rate(ceiling(cluster, HANDSHAKE))} (**${ratio(cluster, HANDSHAKE).toFixed(2)}×**), ${parts} ${rate(ceiling(partitioned, HANDSHAKE))} (**${ratio(partitioned, HANDSHAKE).toFixed(2)}×**; issue 20's target ≥ 2.5×)`,
    `- lifecycle ceiling: 1 Redis ${rate(ceiling(one, PHASES))}; 3-master cluster, 1 partition ${rate(ceiling(cluster, PHASES))} (**${ratio(cluster, PHASES).toFixed(2)}×**), ${parts} ${rate(ceiling(partitioned, PHASES))} (**${ratio(partitioned, PHASES).toFixed(2)}×**)`,
    '- With one partition every key is under one hash tag (`{prefix}`): one master does all of the work',
    "  and the ratio stays near 1×; with partitions each master serves the clients of its slots' partitions.",
    '',
  ];
}

async function run(label: string, redisUrl: string | null, nodes: number, index: number): Promise<Measurement> {
  const servers = await Promise.all(
    Array.from({ length: nodes }, (_, i) =>
      startServer(redisUrl ? ['redis', redisUrl, `bench-${index}-${i}`] : ['memory']),
    ),
  );
  try {
    const result = await measure(servers, redisUrl !== null);
    console.log(
      `  ${label.padEnd(22)} run ${index}: ${Math.round(result.connectsPerSec).toLocaleString('en')} connects/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms${result.roundTripsPerHandshake === null ? '' : `, ${result.roundTripsPerHandshake.toFixed(2)} Redis round-trips per handshake`}`,
    );
    return result;
  } finally {
    await Promise.all(servers.map((server) => server.ask({ cmd: 'close' })));
  }
}

console.log(
  `bench:cluster${QUICK ? ' --quick' : ''}: ${CLIENTS.toLocaleString('en')} handshakes over loopback per run, ${IN_FLIGHT} in flight, ${RUNS} run(s) each; then Redis with ${POPULATION.toLocaleString('en')} clients`,
);
const redis = await startRedisServer({ appendonly: true, appendfsync: 'everysec' });
const configs = [
  { key: 'memory1', label: '1 node, in memory', redis: null, nodes: 1 },
  { key: 'redis1', label: '1 node, Redis', redis: redis.url, nodes: 1 },
  { key: 'redis3', label: '3 nodes, Redis', redis: redis.url, nodes: 3 },
] as const;
const results: Record<string, Measurement[]> = { memory1: [], redis1: [], redis3: [] };
const redisReports: RedisReport[] = [];
let lifecycles: { one: LifecycleCpu; cluster: LifecycleCpu; partitioned: LifecycleCpu } | null = null;
try {
  let index = 0;
  // interleaved, so a slow moment of a shared machine does not fall on one configuration only
  for (let r = 0; r < (runs('handshakes') ? RUNS : 0); r++) {
    for (const config of configs)
      results[config.key]!.push(await run(config.label, config.redis, config.nodes, index++));
  }
  // one column per topology
  if (runs('redis')) {
    redisReports.push(
      await redisReport('1 Redis', { mode: 'redis', masters: [redis.url], ownerOf: async () => redis.url }),
    );
  }
  let one: LifecycleCpu | null = null;
  if (runs('lifecycle')) {
    console.log(
      `Redis CPU per lifecycle, ${LIFECYCLE.toLocaleString('en')} clients: 1 Redis, then a 3-master Redis Cluster…`,
    );
    // on a Redis of its own, set up as the cluster's masters are (no AOF, no snapshots, no other
    // keys): the two ceilings differ only by the topology
    const plain = await startRedisServer();
    try {
      one = await lifecycleCpu('1 Redis', [plain.url], ['redis', plain.url, 'bench-life-1', 'life-one']);
    } finally {
      await plain.dispose();
    }
  }
  const cluster = await startRedisCluster({ masters: 3 });
  try {
    if (runs('redis')) {
      redisReports.push(
        await redisReport('3-master Redis Cluster (all masters)', {
          mode: 'redis-cluster',
          masters: cluster.urls,
          ownerOf: async (prefix) => (await cluster.ownerOf(cluster.slotOf(`{${prefix}}`))).url,
        }),
      );
      redisReports.push(
        await redisReport(`3-master Redis Cluster, ${PARTITIONS} partitions (all masters)`, {
          mode: 'redis-cluster',
          masters: cluster.urls,
          ownerOf: async (prefix) => (await cluster.ownerOf(cluster.slotOf(`{${prefix}}`))).url,
          partitions: PARTITIONS,
        }),
      );
    }
    if (one) {
      const single = await lifecycleCpu('3-master cluster, 1 partition', cluster.urls, [
        'redis-cluster',
        cluster.urls.join(','),
        'bench-life-3',
        'life-cluster',
      ]);
      // key layout 3: the clients over PARTITIONS hash tags, so over every master's slots
      const partitioned = await lifecycleCpu(`3-master cluster, ${PARTITIONS} partitions`, cluster.urls, [
        'redis-cluster',
        cluster.urls.join(','),
        'bench-life-p',
        'life-parts',
        String(PARTITIONS),
      ]);
      lifecycles = { one, cluster: single, partitioned };
    }
  } finally {
    await cluster.stop();
  }
} finally {
  await redis.dispose();
}
let storeCeilingReport: CeilingReport | null = null;
if (runs('ceiling')) {
  console.log(
    `The handshake ceiling on the store alone: ${CEILING_ROUNDS} rounds of ${CEILING_CLIENTS.toLocaleString('en')} new pages, 1 Redis and a 3-master cluster with 1 and ${PARTITIONS} partitions in turn…`,
  );
  storeCeilingReport = await storeCeiling({
    clients: CEILING_CLIENTS,
    inFlight: 200,
    rounds: CEILING_ROUNDS,
    partitions: PARTITIONS,
    progress: (line) => console.log(line),
  });
}
/** The handshake part as markdown (when it ran). */
function handshakeMarkdown(): { lines: string[]; summary: Record<string, Measurement & { min: number; max: number }> } {
  const summary = Object.fromEntries(
    Object.entries(results).map(([key, runs]) => [
      key,
      {
        connectsPerSec: median(runs.map((r) => r.connectsPerSec)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        roundTripsPerHandshake:
          runs[0]!.roundTripsPerHandshake === null ? null : median(runs.map((r) => r.roundTripsPerHandshake!)),
        min: Math.min(...runs.map((r) => r.connectsPerSec)),
        max: Math.max(...runs.map((r) => r.connectsPerSec)),
      },
    ]),
  ) as Record<string, Measurement & { min: number; max: number }>;
  const redisVsMemory = summary.redis1!.connectsPerSec / summary.memory1!.connectsPerSec;
  const threeVsOne = summary.redis3!.connectsPerSec / summary.redis1!.connectsPerSec;
  const rows = configs.map((config) => {
    const s = summary[config.key]!;
    return `| ${config.label} | ${Math.round(s.connectsPerSec).toLocaleString('en')} (${Math.round(s.min).toLocaleString('en')}–${Math.round(s.max).toLocaleString('en')}) | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.roundTripsPerHandshake === null ? '—' : s.roundTripsPerHandshake.toFixed(2)} |`;
  });
  const lines = [
    `# bench:cluster — ${CLIENTS.toLocaleString('en')} handshakes over loopback, ${IN_FLIGHT} in flight, median of ${RUNS} runs`,
    '',
    '| configuration | connects/s (min–max) | p50 ms | p99 ms | Redis round-trips per handshake |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `- 1 node on Redis ÷ 1 node in memory, connect throughput: **${redisVsMemory.toFixed(2)}×** (target ≥ 0.70×)`,
    `- 3 nodes ÷ 1 node (both on Redis): **${threeVsOne.toFixed(2)}×** (on this machine's cores, shared by the nodes, Redis and the clients)`,
    `- Redis round-trips per handshake (target 1): **${summary.redis1!.roundTripsPerHandshake!.toFixed(2)}**`,
    '',
  ];
  return { lines, summary };
}
const handshakes = runs('handshakes') ? handshakeMarkdown() : null;
const markdown = [
  ...(handshakes?.lines ?? []),
  ...(redisReports.length > 0 ? redisMarkdown(redisReports) : []),
  ...(lifecycles ? lifecycleMarkdown(lifecycles.one, lifecycles.cluster, lifecycles.partitioned) : []),
  ...(storeCeilingReport ? ceilingMarkdown(storeCeilingReport) : []),
].join('\n');
console.log(`\n${markdown}`);
if (ONLY === null) {
  const summary = handshakes!.summary;
  const redisVsMemory = summary.redis1!.connectsPerSec / summary.memory1!.connectsPerSec;
  const threeVsOne = summary.redis3!.connectsPerSec / summary.redis1!.connectsPerSec;
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = QUICK ? 'cluster-quick' : 'cluster';
  writeFileSync(
    new URL(`./results/${name}.json`, import.meta.url),
    JSON.stringify(
      {
        clients: CLIENTS,
        runs: RUNS,
        results,
        summary,
        redisVsMemory,
        threeVsOne,
        redis: redisReports,
        lifecycles,
        ceiling: storeCeilingReport,
      },
      null,
      2,
    ),
  );
  writeFileSync(new URL(`./results/${name}.md`, import.meta.url), markdown);
  console.log(`written: bench/results/${name}.json, bench/results/${name}.md`);
}
