// What the inspector costs the server with 10,000 clients attached: CPU of the server process
// and bytes per second sent to a viewer, beside the same server without the inspector, in the
// same run.
//   npm run bench:inspector            (10,000 clients, 1,000 lifecycle events/s, 3 runs)
//   npm run bench:inspector -- --quick (2,000 clients, 1 run)
// The viewer is a real socket.io-client in a child process (its CPU is not the server's); the
// clients are driven with the adapter's own events (`socket.handshake` / `socket.disconnect`)
// so that 10,000 sockets' kernel and engine.io costs do not drown what is measured here.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { createSupervisor } from 'socket.io-supervisor';
import { mountInspector } from 'socket.io-supervisor/inspector';

if (process.argv[2] === '--viewer') {
  // the viewer: connects, asks for its page, says when its snapshot arrived, stays until told to go
  const { io } = await import('socket.io-client');
  const [url, token] = process.argv.slice(3) as [string, string];
  const socket = io(url, { transports: ['websocket'], auth: { token } });
  let updates = 0;
  socket.on('snapshot', () => {
    // as the inspector page does: it asks for the page it shows (read again as clients change)
    socket.emit('view', { limit: 50, seq: 1 });
    process.send?.({ ready: true });
  });
  socket.on('update', () => {
    updates += 1;
  });
  process.on('message', () => {
    process.send?.({ updates });
    socket.disconnect();
    process.exit(0);
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const N = quick ? 2_000 : 10_000;
  const RUNS = quick ? 1 : 3;
  const WINDOW = quick ? 2_000 : 5_000; // ms per measurement
  const CHURN = 500; // clients per second that drop and come back: 1,000 lifecycle events/s
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const supervisor = createSupervisor({
    reconnectTimeout: 600_000,
    handshakeTimeout: 600_000,
    pruneInterval: 0,
    rateLimit: false,
  });
  supervisor.attach(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  log(`inspector cost: ${N.toLocaleString('en')} connected clients, ${CHURN * 2} lifecycle events/s`);
  const ids = Array.from({ length: N }, () => supervisor.register().clientId);
  const socketOf = new Map<string, string>();
  let seq = 0;
  for (const clientId of ids) {
    const socketId = `s${seq++}`;
    socketOf.set(clientId, socketId);
    supervisor.actor.send({ type: 'socket.handshake', clientId, socketId });
  }

  // churn: every 10 ms, CHURN/100 clients drop and come back with a new socket
  let cursor = 0;
  let churning = false;
  const churn = setInterval(() => {
    if (!churning) return;
    for (let i = 0; i < CHURN / 100; i++) {
      const clientId = ids[cursor++ % N]!;
      supervisor.actor.send({
        type: 'socket.disconnect',
        clientId,
        socketId: socketOf.get(clientId)!,
        reason: 'transport close',
      });
      const socketId = `s${seq++}`;
      socketOf.set(clientId, socketId);
      supervisor.actor.send({ type: 'socket.handshake', clientId, socketId });
    }
  }, 10);

  async function window(withChurn: boolean): Promise<number> {
    churning = withChurn;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, WINDOW));
    const used = process.cpuUsage(cpu);
    churning = false;
    // server CPU time per wall second, in ms (1000 = one core busy)
    return (used.user + used.system) / 1000 / ((performance.now() - started) / 1000);
  }

  interface Sample {
    baseline: number;
    mounted: number;
    viewer: number;
    idleViewer: number;
    bytesPerSecond: number;
    idleBytesPerSecond: number;
    snapshotBytes: number;
    updatesPerSecond: number;
  }
  const samples: Sample[] = [];
  // warm-up, not measured: churn with and without an inspector mounted
  await window(true);
  mountInspector(supervisor, { io, httpServer: http }).close();

  for (let run = 1; run <= RUNS; run++) {
    const baseline = await window(true);
    const inspector = mountInspector(supervisor, { io, httpServer: http });
    const mounted = await window(true);

    // bytes the server writes to viewers, by kind (socket.io packets are JSON text here)
    let bytes = 0;
    let batches = 0;
    let snapshotBytes = 0;
    const count = (socket: { on(e: 'packetCreate', fn: (p: { data?: unknown }) => void): void }) =>
      socket.on('packetCreate', (packet) => {
        if (typeof packet.data !== 'string') return;
        const size = Buffer.byteLength(packet.data);
        if (packet.data.includes('["snapshot"')) snapshotBytes = size;
        else {
          bytes += size;
          if (packet.data.includes('["update"')) batches += 1;
        }
      });
    // at the engine.io level, so that the snapshot sent on connection is counted too
    io.engine.on('connection', count);
    const viewer = fork(
      new URL(import.meta.url).pathname,
      ['--viewer', `${base}/supervisor-inspector`, inspector.token!],
      {
        execArgv: ['--import', 'tsx'],
      },
    );
    await new Promise<void>((resolve) => viewer.once('message', () => resolve()));
    bytes = 0;
    batches = 0;
    const withViewer = await window(true);
    const busyBytes = bytes;
    const busyBatches = batches;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the last batches drain
    bytes = 0;
    const idleViewer = await window(false);
    const idleBytes = bytes;
    const updates = await new Promise<number>((resolve) => {
      viewer.once('message', (m: { updates: number }) => resolve(m.updates));
      viewer.send('stop');
    });
    if (updates < busyBatches) throw new Error(`the viewer received ${updates} batches of ${busyBatches} sent`);
    await new Promise((resolve) => viewer.once('exit', resolve));
    io.engine.off('connection', count);
    inspector.close();
    const sample = {
      baseline,
      mounted,
      viewer: withViewer,
      idleViewer,
      bytesPerSecond: busyBytes / (WINDOW / 1000),
      idleBytesPerSecond: idleBytes / (WINDOW / 1000),
      snapshotBytes,
      updatesPerSecond: busyBatches / (WINDOW / 1000),
    };
    samples.push(sample);
    log(
      `  run ${run}/${RUNS}: server CPU ${baseline.toFixed(0)} ms/s without inspector, ${mounted.toFixed(0)} mounted, ` +
        `${withViewer.toFixed(0)} with a viewer; ${(sample.bytesPerSecond / 1024).toFixed(1)} KiB/s to the viewer`,
    );
  }
  clearInterval(churn);

  const median = (key: keyof Sample) => {
    const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const result = {
    clients: N,
    lifecycleEventsPerSecond: CHURN * 2,
    runs: RUNS,
    windowMs: WINDOW,
    cpuMsPerSecond: {
      withoutInspector: median('baseline'),
      mountedNoViewer: median('mounted'),
      oneViewer: median('viewer'),
      oneViewerIdle: median('idleViewer'),
    },
    viewerCpuRatio: median('viewer') / median('baseline'),
    bytesPerSecondToViewer: median('bytesPerSecond'),
    idleBytesPerSecondToViewer: median('idleBytesPerSecond'),
    snapshotBytes: median('snapshotBytes'),
    updatesPerSecond: median('updatesPerSecond'),
  };
  const c = result.cpuMsPerSecond;
  const table = [
    `| ${N.toLocaleString('en')} connected clients, ${CHURN * 2} lifecycle events/s | server CPU (ms per s) | ratio |`,
    '|---|---|---|',
    `| no inspector | ${c.withoutInspector.toFixed(0)} | 1.00 |`,
    `| inspector mounted, nobody watching | ${c.mountedNoViewer.toFixed(0)} | ${(c.mountedNoViewer / c.withoutInspector).toFixed(2)} |`,
    `| one viewer | ${c.oneViewer.toFixed(0)} | ${result.viewerCpuRatio.toFixed(2)} |`,
    '',
    `One viewer receives ${(result.bytesPerSecondToViewer / 1024).toFixed(1)} KiB/s while clients churn ` +
      `(${result.updatesPerSecond.toFixed(1)} batches/s), ${(result.idleBytesPerSecondToViewer / 1024).toFixed(2)} KiB/s when nothing happens ` +
      `(server CPU ${c.oneViewerIdle.toFixed(0)} ms/s), and a ${(result.snapshotBytes / 1024 / 1024).toFixed(2)} MiB snapshot when it opens.`,
  ].join('\n');
  console.log(table);
  if (!quick) {
    writeFileSync('bench/results/inspector-cost.json', `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync('bench/results/inspector-cost.md', `${table}\n`);
  }
  await supervisor.close();
  io.close();
}
