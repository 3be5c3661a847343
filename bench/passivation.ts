// npm run bench:passivation: what passivation saves and costs, to choose passivateAfter's default.
//   1. heap per connected idle client, with its actor live and passivated;
//   2. CPU per event: on a live actor, on a passivated client (its actor re-created first), and
//      the passivation itself;
//   3. a network blip: N idle clients drop at once and come back `gap` ms later, for several
//      passivateAfter values: CPU for the whole blip (activations included) and the heap right
//      after it, against passivateAfter: false (actors always live) in the same run.
// In-process, NODE_ENV=production, one supervisor per measurement, real timers.

import { createSupervisor, type Supervisor } from 'socket.io-supervisor';
import { internalsOf } from '../dist/core/internals.js';

const quick = process.argv.includes('--quick');
const N = quick ? 5_000 : 20_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:passivation does)');
const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tick = () => new Promise((resolve) => setImmediate(resolve));
const heap = () => {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
};
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

function make(passivateAfter: number | false): Supervisor {
  return createSupervisor({
    passivateAfter,
    reconnectTimeout: 600_000,
    handshakeTimeout: 600_000,
    pruneInterval: 0,
    hooks: { onConnect: () => {}, onDisconnect: () => {} },
  });
}

/** N clients, connected on socket s<i>, at rest (passivated unless passivateAfter is false). */
async function connectedClients(supervisor: Supervisor, rest: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < N; i += 1) {
    const { clientId } = supervisor.register();
    supervisor.send({ type: 'socket.handshake', clientId, socketId: `s${i}` });
    ids.push(clientId);
    if (i % 100 === 99) await tick();
  }
  await sleep(rest);
  return ids;
}

/** Runs `op` over the ids, yielding every 100 as a server between I/O events; returns CPU ms. */
async function over(ids: string[], op: (id: string, i: number) => void): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < ids.length; i += 1) {
    op(ids[i]!, i);
    if (i % 100 === 99) await tick();
  }
  return cpuMs(started);
}

// ---------------------------------------------------------------- 1. heap per idle client
const base = heap();
const live = make(false);
await connectedClients(live, 50);
const heapLive = (heap() - base) / N;
await live.close();
const base2 = heap();
const resting = make(0);
await connectedClients(resting, 50);
const activeLeft = internalsOf(resting).host.activeCount();
const heapPassivated = (heap() - base2) / N;
await resting.close();
log(
  `heap per connected idle client: ${Math.round(heapLive)} B with a live actor, ${Math.round(heapPassivated)} B passivated (${activeLeft} left active)`,
);

// ---------------------------------------------------------------- 2. CPU per event
const drop = (s: Supervisor) => (id: string, i: number) =>
  s.send({ type: 'socket.disconnect', clientId: id, socketId: `s${i}`, reason: 'transport close' });
const back = (s: Supervisor) => (id: string, i: number) =>
  s.send({ type: 'socket.handshake', clientId: id, socketId: `s${i}` });
const liveSupervisor = make(false);
const liveIds = await connectedClients(liveSupervisor, 0);
const onLive = (await over(liveIds, drop(liveSupervisor))) + (await over(liveIds, back(liveSupervisor)));
await liveSupervisor.close();
const coldSupervisor = make(0);
const coldIds = await connectedClients(coldSupervisor, 50);
const onPassivated = (await over(coldIds, drop(coldSupervisor))) + (await over(coldIds, back(coldSupervisor)));
await coldSupervisor.close();
// passivation itself: N clients made active in one synchronous run, then passivated together
// in the promise job that follows (1,024 per supervisor step)
const passivationSupervisor = make(0);
for (let i = 0; i < N; i += 1) {
  const { clientId } = passivationSupervisor.register();
  passivationSupervisor.send({ type: 'socket.handshake', clientId, socketId: `s${i}` });
}
const { host } = internalsOf(passivationSupervisor);
const activeBefore = host.activeCount();
const started = process.cpuUsage();
await tick();
const passivateMs = cpuMs(started);
const passivated = activeBefore - host.activeCount();
await passivationSupervisor.close();
const perEvent = (ms: number) => ((ms * 1000) / (2 * N)).toFixed(2);
log(
  `CPU per event (a disconnect or a reconnect): ${perEvent(onLive)} µs on a live actor, ${perEvent(onPassivated)} µs on a passivated client (re-created, then passivated again)`,
);
log(
  `passivation: ${((passivateMs * 1000) / Math.max(1, passivated)).toFixed(2)} µs per client (${passivated.toLocaleString('en')} at once)`,
);

// ---------------------------------------------------------------- 3. a network blip
const AFTERS: Array<number | false> = quick ? [false, 0, 1000, 5000] : [false, 0, 1000, 3000, 5000, 10000];
const GAPS = [200, 1500];
log(`network blip: ${N.toLocaleString('en')} idle clients drop and come back after a gap`);
log('| passivateAfter | gap | CPU for the blip | ratio to always live | heap right after | live actors after |');
log('|---:|---:|---:|---:|---:|---:|');
const rows: Array<{ passivateAfter: number | false; gap: number; cpuMs: number; heapMb: number; active: number }> = [];
for (const gap of GAPS) {
  let baseline = Number.NaN;
  for (const passivateAfter of AFTERS) {
    const supervisor = make(passivateAfter);
    // at rest: long enough for every client to be passivated
    const ids = await connectedClients(supervisor, passivateAfter === false ? 0 : passivateAfter + 200);
    const began = process.cpuUsage();
    await over(ids, drop(supervisor));
    await sleep(gap);
    await over(ids, back(supervisor));
    const ms = cpuMs(began);
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    const active = internalsOf(supervisor).host.activeCount();
    if (passivateAfter === false) baseline = ms;
    rows.push({ passivateAfter, gap, cpuMs: ms, heapMb, active });
    log(
      `| ${passivateAfter === false ? 'false' : `${passivateAfter} ms`} | ${gap} ms | ${ms.toFixed(0)} ms | ${(ms / baseline).toFixed(2)} | ${heapMb.toFixed(0)} MB | ${active.toLocaleString('en')} |`,
    );
    await supervisor.close();
  }
}
const { writeFileSync, mkdirSync } = await import('node:fs');
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/passivation${quick ? '-quick' : ''}.json`,
  `${JSON.stringify({ n: N, heapLive, heapPassivated, cpuPerEventUs: { live: Number(perEvent(onLive)), passivated: Number(perEvent(onPassivated)) }, blip: rows, date: new Date().toISOString() }, null, 2)}\n`,
);
