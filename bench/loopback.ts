import { fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Socket } from 'socket.io-client';
import { connectSocket } from './sockets.js';

/** One loopback measurement: a server process (map or supervisor), N real client sockets here. */
export interface LoopbackResult {
  connectsPerSec: number;
  disconnectStormMs: number;
  reconnectStormMs: number;
  lost: number;
  /** Server heap per connection at rest (idle clients passivated), B. */
  heapPerConnection: number;
  /** Server heap per connection right after the connects (every actor still live), B. */
  heapPerConnectionAfterConnects: number;
  rssPerConnection: number;
  /** Server CPU per connection while connecting (handshake included), µs. */
  connectCpuUs: number;
  /** Server CPU per client for the disconnect storm and the reconnect storm together, µs. */
  stormCpuUs: number;
}

type Reply = { type: string; [key: string]: unknown };

function openDescriptors(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** Closed sockets give their descriptors back asynchronously: wait, so the next run can open N. */
async function descriptorsReleased(baseline: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (openDescriptors() > baseline + 50 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function runLoopback(
  kind: 'map' | 'supervisor',
  n: number,
  onProgress: (line: string) => void,
): Promise<LoopbackResult> {
  const openAtStart = openDescriptors();
  const server = fork(new URL('./loopback-server.ts', import.meta.url), [kind], {
    execArgv: [
      '--expose-gc',
      '--import',
      'tsx',
      // PROF_DIR=dir: the server writes its CPU profile there (where its time goes)
      ...(process.env.PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF_DIR}`] : []),
      // SERVER_NODE_ARGS='--trace-gc ...': more options for the server's node (what its collector does)
      ...(process.env.SERVER_NODE_ARGS ? process.env.SERVER_NODE_ARGS.split(' ') : []),
    ],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: Array<(reply: Reply) => void> = [];
  server.on('message', (reply: Reply) => waiting.shift()?.(reply));
  const ask = (cmd: object) =>
    new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not answer ${JSON.stringify(cmd)}`)), 60_000);
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      server.send(cmd);
    });
  const ready = await new Promise<Reply>((resolve) => waiting.push(resolve));
  const url = `http://127.0.0.1:${ready.port as number}`;
  const sockets: Socket[] = [];
  try {
    const baseline = (await ask({ cmd: 'memory' })) as Reply & { heap: number; rss: number };
    const { credentials } = (await ask({ cmd: 'register', n })) as Reply & {
      credentials: Array<{ clientId: string; token: string }>;
    };
    const until = async (check: (s: Reply & { connected: number; disconnected: number }) => boolean, what: string) => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const stats = (await ask({ cmd: 'stats' })) as Reply & { connected: number; disconnected: number };
        if (check(stats)) return stats;
        if (Date.now() > deadline) throw new Error(`${kind} ${n}: timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    type Stats = Reply & {
      connected: number;
      disconnected: number;
      active: number;
      heap: number;
      rss: number;
      cpuMs: number;
    };
    const stats = async () => (await ask({ cmd: 'stats' })) as Stats;
    // connects, handshake included, at most 500 in flight
    const cpuBefore = (await stats()).cpuMs;
    let t = performance.now();
    for (let i = 0; i < n; i += 500) {
      await Promise.all(credentials.slice(i, i + 500).map((auth) => connectSocket(url, auth, sockets)));
    }
    const connectsPerSec = n / ((performance.now() - t) / 1000);
    await until((s) => s.connected === n, 'all connected');
    const connectCpuUs = (((await stats()).cpuMs - cpuBefore) * 1000) / n;
    onProgress(`    ${kind} ${n}: ${Math.round(connectsPerSec)} connects/s`);
    // issue 21 asks for the heap both right after the connects and at rest
    const afterConnects = (await ask({ cmd: 'memory' })) as Stats;
    // at rest: the supervisor passivates idle clients after passivateAfter (the Map has nothing to do)
    const deadline = Date.now() + 30_000;
    const activeNow = async () => ((await ask({ cmd: 'stats', active: true })) as Stats).active;
    while ((await activeNow()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const connected = (await ask({ cmd: 'memory' })) as Stats;
    const stormCpuBefore = (await stats()).cpuMs;
    // disconnect storm: every socket drops at once; time until the server processed each one
    t = performance.now();
    for (const socket of sockets) socket.disconnect();
    await until((s) => s.disconnected === n, 'the disconnect storm');
    const disconnectStormMs = performance.now() - t;
    // reconnect storm within the grace period: all come back; none may be lost. The dropped
    // sockets give their descriptors back asynchronously: wait for that first (the server has
    // already processed every drop), or N more would not fit the descriptor limit.
    await descriptorsReleased(openAtStart);
    t = performance.now();
    for (let i = 0; i < n; i += 500) {
      await Promise.all(
        sockets.slice(i, i + 500).map(
          (socket) =>
            new Promise<void>((resolve, reject) => {
              socket.once('connect', () => resolve());
              socket.once('connect_error', reject);
              socket.connect();
            }),
        ),
      );
    }
    const back = await until((s) => s.connected === n, 'the reconnect storm');
    const reconnectStormMs = performance.now() - t;
    const stormCpuUs = (((await stats()).cpuMs - stormCpuBefore) * 1000) / n;
    return {
      connectsPerSec,
      disconnectStormMs,
      reconnectStormMs,
      lost: n - back.connected,
      heapPerConnection: (connected.heap - baseline.heap) / n,
      heapPerConnectionAfterConnects: (afterConnects.heap - baseline.heap) / n,
      rssPerConnection: (connected.rss - baseline.rss) / n,
      connectCpuUs,
      stormCpuUs,
    };
  } finally {
    for (const socket of sockets) socket.disconnect();
    server.send({ cmd: 'exit' });
    await new Promise((resolve) => server.once('exit', resolve));
    await descriptorsReleased(openAtStart);
  }
}
