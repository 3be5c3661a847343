// npm run bench:cluster [-- --clients N --runs R]: handshake throughput and latency over loopback,
// 1 node on Redis against 1 node in memory, and 3 nodes against 1, with Redis round-trips per
// handshake. Every number is the median of R runs measured in this same run; the headline is the
// ratio. Writes bench/results/cluster.json and cluster.md.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { io as connectClient, type Socket } from 'socket.io-client';
import { startRedisServer } from '../test/cluster/redisServer.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const CLIENTS = arg('clients', 5000);
const RUNS = arg('runs', 3);
const IN_FLIGHT = 500;

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
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

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
      targets.slice(i, i + IN_FLIGHT).map(
        ({ auth, server }) =>
          new Promise<void>((resolve, reject) => {
            const t0 = performance.now();
            const socket = connectClient(server.url, {
              transports: ['websocket'],
              forceNew: true,
              reconnection: false,
              auth,
            });
            sockets.push(socket);
            socket.once('connect', () => {
              latencies.push(performance.now() - t0);
              resolve();
            });
            socket.once('connect_error', (error) => reject(error));
          }),
      ),
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
  `bench:cluster: ${CLIENTS.toLocaleString('en')} handshakes over loopback per run, ${IN_FLIGHT} in flight, ${RUNS} runs each`,
);
const redis = await startRedisServer({ appendonly: true, appendfsync: 'everysec' });
const configs = [
  { key: 'memory1', label: '1 node, in memory', redis: null, nodes: 1 },
  { key: 'redis1', label: '1 node, Redis', redis: redis.url, nodes: 1 },
  { key: 'redis3', label: '3 nodes, Redis', redis: redis.url, nodes: 3 },
] as const;
const results: Record<string, Measurement[]> = { memory1: [], redis1: [], redis3: [] };
try {
  let index = 0;
  // interleaved, so a slow moment of a shared machine does not fall on one configuration only
  for (let r = 0; r < RUNS; r++) {
    for (const config of configs)
      results[config.key]!.push(await run(config.label, config.redis, config.nodes, index++));
  }
} finally {
  await redis.dispose();
}
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
const markdown = [
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
].join('\n');
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/cluster.json', import.meta.url),
  JSON.stringify({ clients: CLIENTS, runs: RUNS, results, summary, redisVsMemory, threeVsOne }, null, 2),
);
writeFileSync(new URL('./results/cluster.md', import.meta.url), markdown);
console.log(`\n${markdown}`);
console.log('written: bench/results/cluster.json, bench/results/cluster.md');
