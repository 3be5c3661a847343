// npm run bench:breakdown: server CPU per connect, in process, broken down by layer against
// XState's own floor. Each row is the CPU time per client (register + handshake event) of:
//   1. XState's floor: a two-state machine of the same shape (one assign on the transition),
//      created, started and sent one event, in one actor system;
//   2. the client machine alone (createActor(clientMachine, { input }) + socket.handshake);
//   3. the whole supervisor without socket.io (register() + supervisor.send(socket.handshake)):
//      store, deadline index, relay, idle queue, hook dispatch on top of 2;
// and the GC time of each (PerformanceObserver 'gc' entries) within it. The socket.io adapter's
// share is the loopback bench's server CPU per connect minus the Map server's and minus row 3.
// Alternating rounds, median of ROUNDS; NODE_ENV=production.
import { PerformanceObserver } from 'node:perf_hooks';
import { createSupervisor } from 'socket.io-supervisor';
import { assign, createActor, setup } from 'xstate';
import { clientMachine } from '../dist/machines/client.machine.js';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });
const tick = () => new Promise((resolve) => setImmediate(resolve));

const floorMachine = setup({
  types: { context: {} as { socketId: string | null }, events: {} as { type: 'socket.handshake'; socketId: string } },
}).createMachine({
  context: { socketId: null },
  initial: 'handshaking',
  states: {
    handshaking: {
      on: { 'socket.handshake': { target: 'connected', actions: assign({ socketId: ({ event }) => event.socketId }) } },
    },
    connected: {},
  },
});

type Row = 'xstate floor' | 'client machine' | 'supervisor (no socket.io)';
async function measure(run: (i: number) => void): Promise<{ cpuUs: number; gcUs: number }> {
  await tick();
  const gcBefore = gcMs;
  const started = process.cpuUsage();
  for (let i = 0; i < N; i += 1) {
    run(i);
    if (i % 100 === 99) await tick();
  }
  const used = process.cpuUsage(started);
  return { cpuUs: (used.user + used.system) / N, gcUs: ((gcMs - gcBefore) * 1000) / N };
}

const results: Record<Row, Array<{ cpuUs: number; gcUs: number }>> = {
  'xstate floor': [],
  'client machine': [],
  'supervisor (no socket.io)': [],
};
for (let round = 0; round < ROUNDS; round += 1) {
  {
    const parent = createActor(floorMachine).start();
    const actors: unknown[] = [];
    results['xstate floor'].push(
      await measure((i) => {
        const actor = createActor(floorMachine, { parent, systemId: `c${i}` }).start();
        actor.send({ type: 'socket.handshake', socketId: `s${i}` });
        actors.push(actor);
      }),
    );
    parent.stop();
  }
  {
    const parent = createActor(floorMachine).start();
    const actors: unknown[] = [];
    results['client machine'].push(
      await measure((i) => {
        const actor = createActor(clientMachine, {
          parent,
          id: 'client',
          systemId: `c${i}`,
          input: { clientId: `c${i}`, tabId: null, createdAt: 0, handshakeTimeout: 60_000, reconnectTimeout: 3000 },
        }).start();
        actor.send({ type: 'socket.handshake', socketId: `s${i}`, at: 1 });
        actors.push(actor);
      }),
    );
    parent.stop();
  }
  {
    const supervisor = createSupervisor({ pruneInterval: 0, hooks: { onConnect: () => {} } });
    results['supervisor (no socket.io)'].push(
      await measure((i) => {
        const { clientId } = supervisor.register();
        supervisor.send({ type: 'socket.handshake', clientId, socketId: `s${i}` });
      }),
    );
    await supervisor.close();
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[]) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;
const floor = median(results['xstate floor'].map((r) => r.cpuUs));
console.log(`CPU per connect (register + handshake), ${N.toLocaleString('en')} clients, median of ${ROUNDS} (min–max)`);
console.log('| layer | CPU µs | of which GC µs | × XState floor |');
console.log('|---|---:|---:|---:|');
for (const [row, samples] of Object.entries(results)) {
  const cpu = samples.map((s) => s.cpuUs);
  const gc = samples.map((s) => s.gcUs);
  console.log(
    `| ${row} | ${median(cpu).toFixed(1)} (${range(cpu)}) | ${median(gc).toFixed(1)} (${range(gc)}) | ${(median(cpu) / floor).toFixed(2)} |`,
  );
}
