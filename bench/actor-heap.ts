// Where the heap per client goes: the supervisor's whole client beside the XState actor alone,
// in the same process. Answers "can a client fit in 2 KB while it is an XState actor?".
//   npm run bench:actor-heap
import { createActor, setup } from 'xstate';
import { createSupervisor } from '../dist/createSupervisor.js';
import { clientMachine } from '../dist/machines/client.machine.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:actor-heap does)');
const N = 50_000;

function bytesPer(make: (i: number) => unknown): number {
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const keep: unknown[] = [];
  for (let i = 0; i < N; i += 1) keep.push(make(i));
  gc!();
  gc!();
  const per = (process.memoryUsage().heapUsed - before) / N;
  keep.length = 0;
  return per;
}

const input = (i: number) => ({
  clientId: `client-${i}`.padEnd(22, '_'),
  tabId: null,
  createdAt: 0,
  handshakeTimeout: 600_000,
  reconnectTimeout: 600_000,
});
const oneState = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });
const parent = createActor(oneState);
parent.start();

// warm-up, not measured
bytesPer((i) => createActor(clientMachine, { input: input(i) }).start());

const rows: Array<[string, number]> = [];
rows.push([
  'one-state machine actor in a shared system',
  bytesPer((i) => createActor(oneState, { parent, id: 'client', systemId: `a${i}` }).start()),
]);
rows.push([
  'client machine actor in a shared system',
  bytesPer((i) => createActor(clientMachine, { input: input(i), parent, id: 'client', systemId: `b${i}` }).start()),
]);
rows.push([
  'client machine actor with its own system',
  bytesPer((i) => createActor(clientMachine, { input: input(i) }).start()),
]);
rows.push([
  "a persisted snapshot of the client machine (what a 'hibernated' client would keep)",
  bytesPer((i) => {
    const actor = createActor(clientMachine, { input: input(i) }).start();
    const snapshot = actor.getPersistedSnapshot();
    actor.stop();
    return snapshot;
  }),
]);
const supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false, handshakeTimeout: 600_000 });
let socket = 0;
rows.push([
  'a connected client of the supervisor (everything)',
  bytesPer(() => {
    const { clientId } = supervisor.register();
    supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: `s${socket++}` });
    return clientId;
  }),
]);
await supervisor.close();

const baseline = rows[0]![1];
console.log(`heap per instance, ${N.toLocaleString('en')} instances each (ratio: ÷ the one-state actor)`);
for (const [label, bytes] of rows) {
  console.log(`${Math.round(bytes).toLocaleString('en').padStart(7)} B  ${(bytes / baseline).toFixed(2)}×  ${label}`);
}
