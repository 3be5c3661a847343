// npm run bench:delivery: messages to connected clients through supervisor.to(clientId).emit()
// against a bare socket.emit() in the same run (the browser helper receives and acknowledges the
// former; plain listeners the latter), and how fast a reconnecting client's 1,000-message outbox
// is flushed. The server runs in its own process; clients are real socket.io-client sockets here.
// Options: --quick; --ack-delay=N (the pages' ackDelay in ms instead of the helper's default);
// CPU_PROF_DIR=dir in the environment writes a CPU profile of the server process there.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { io as connectClient, type Socket } from 'socket.io-client';
import { memoryStorage, supervise } from 'socket.io-supervisor/client';

const quick = process.argv.includes('--quick');
const CLIENTS = quick ? 50 : 200;
const PER_CLIENT = quick ? 200 : 1000;
const RUNS = quick ? 1 : 3;
// --ack-delay=N: the pages' ackDelay (ms) instead of the helper's default
const ackDelayArg = process.argv.find((arg) => arg.startsWith('--ack-delay='));
const ackDelay = ackDelayArg === undefined ? undefined : Number(ackDelayArg.slice('--ack-delay='.length));
const log = (line: string) => console.log(line);

type Reply = { type: string; [key: string]: unknown };
const server = fork(new URL('./delivery-server.ts', import.meta.url), [], {
  // CPU_PROF_DIR=dir: a CPU profile of the server process (node --cpu-prof) written there
  execArgv: [
    '--import',
    'tsx',
    ...(process.env.CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF_DIR}`] : []),
  ],
  env: { ...process.env, NODE_ENV: 'production' },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const waiting: Array<(reply: Reply) => void> = [];
server.on('message', (reply: Reply) => waiting.shift()?.(reply));
const ask = (cmd: object) =>
  new Promise<Reply>((resolve) => {
    waiting.push(resolve);
    server.send(cmd);
  });
const ready = await new Promise<Reply>((resolve) => waiting.push(resolve));
const url = `http://127.0.0.1:${ready.port as number}`;

const { credentials } = (await ask({ cmd: 'register', n: CLIENTS })) as Reply & {
  credentials: Array<{ clientId: string; token: string }>;
};
let received = 0;
const sockets: Socket[] = [];
await Promise.all(
  credentials.map(
    (auth) =>
      new Promise<void>((resolve) => {
        const socket = connectClient(url, { autoConnect: false, forceNew: true, transports: ['websocket'] });
        const client = supervise(socket, {
          storage: memoryStorage(),
          credentials: auth,
          ...(ackDelay === undefined ? {} : { ackDelay }),
        });
        client.on('note', () => {
          received += 1;
        });
        // the baseline's messages arrive as plain events
        socket.on('note', () => {
          received += 1;
        });
        sockets.push(socket);
        socket.once('connect', () => resolve());
        socket.connect();
      }),
  ),
);
log(`delivery: ${CLIENTS} connected clients, ${PER_CLIENT.toLocaleString('en')} messages each per run`);

async function until(count: number): Promise<void> {
  while (received < count) await new Promise((resolve) => setTimeout(resolve, 2));
}

const results: Record<'to' | 'bare', { perSec: number[]; cpuPerMessageUs: number[] }> = {
  to: { perSec: [], cpuPerMessageUs: [] },
  bare: { perSec: [], cpuPerMessageUs: [] },
};
const total = CLIENTS * PER_CLIENT;
for (let run = 0; run < RUNS; run += 1) {
  for (const mode of ['bare', 'to'] as const) {
    received = 0;
    const t = performance.now();
    const sent = (await ask({ cmd: 'send', mode, perClient: PER_CLIENT })) as Reply & { cpuMs: number };
    await until(total);
    const seconds = (performance.now() - t) / 1000;
    results[mode].perSec.push(total / seconds);
    results[mode].cpuPerMessageUs.push((sent.cpuMs * 1000) / total);
    log(
      `  ${mode.padEnd(4)} run ${run + 1}/${RUNS}: ${Math.round(total / seconds).toLocaleString('en')} messages/s, server CPU ${((sent.cpuMs * 1000) / total).toFixed(2)} µs/message`,
    );
  }
}

// flush: every client away, 1,000 messages queued for each, then all come back. First every
// message of the runs is acknowledged, so what is flushed is exactly what was queued.
const FLUSH = 1000;
for (;;) {
  const { outbox } = (await ask({ cmd: 'stats' })) as Reply & { outbox: number };
  if (outbox === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
for (const socket of sockets) {
  socket.io.reconnection(false);
  socket.io.engine.close();
}
for (;;) {
  const { counts } = (await ask({ cmd: 'stats' })) as Reply & { counts: { disconnected: number } };
  if (counts.disconnected === CLIENTS) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const queued = (await ask({ cmd: 'queue', perClient: FLUSH })) as Reply & { outbox: number };
received = 0;
const t = performance.now();
for (const socket of sockets) {
  socket.io.reconnection(true);
  socket.connect();
}
await until(queued.outbox);
const flushPerSec = queued.outbox / ((performance.now() - t) / 1000);
log(
  `  flush of ${CLIENTS} outboxes of ${FLUSH.toLocaleString('en')} messages on reconnect: ${Math.round(flushPerSec).toLocaleString('en')} messages/s`,
);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ratio = median(results.to.perSec) / median(results.bare.perSec);
const summary = {
  quick,
  clients: CLIENTS,
  perClient: PER_CLIENT,
  runs: RUNS,
  ackDelay: ackDelay ?? 'default',
  toPerSec: median(results.to.perSec),
  barePerSec: median(results.bare.perSec),
  ratio,
  serverCpuPerMessageUs: { to: median(results.to.cpuPerMessageUs), bare: median(results.bare.cpuPerMessageUs) },
  flushPerSec,
  date: new Date().toISOString(),
};
log(
  `to(clientId).emit ÷ bare socket.emit: ${ratio.toFixed(2)} (target ≥ 0.90); flush ${Math.round(flushPerSec).toLocaleString('en')} messages/s`,
);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/delivery${quick ? '-quick' : ''}.json`, `${JSON.stringify(summary, null, 2)}\n`);
for (const socket of sockets) socket.disconnect();
server.send({ cmd: 'exit' });
