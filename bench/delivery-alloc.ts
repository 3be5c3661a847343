// npm run bench:delivery-alloc: what to(clientId).emit() allocates and costs in the supervisor
// itself, without socket.io (the supervisor is not attached, so its bridge sends nothing): young-
// generation bytes per message, measured with the GC held off (node --max-semi-space-size=64),
// and CPU time per message. Two patterns: 25 messages in flight per client (a fast stream, the
// page acknowledging in batches) and each message acknowledged before the next (a message now and
// then: the outbox empties and makes its ring again each time). The bench's own message object is
// measured alone and subtracted. Last, the heap of an idle client that was sent something. Run
// with node --expose-gc (the npm script does).
import { getHeapSpaceStatistics } from 'node:v8';
import { createSupervisor } from 'socket.io-supervisor';
import { createDelivery } from '../dist/core/delivery.js';
import { internalsOf } from '../dist/core/internals.js';
import type { ClientRecord, ClientStore } from '../dist/store/clientStore.js';
import { DELIVERY_BENCH_OPTIONS } from './deliveryOptions.js';

const CLIENTS = 200;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:delivery-alloc)');
const supervisor = createSupervisor(DELIVERY_BENCH_OPTIONS);
const internals = internalsOf(supervisor);
const ids = Array.from({ length: CLIENTS }, (_, i) => {
  const { clientId } = supervisor.register();
  supervisor.send({ type: 'socket.handshake', clientId, socketId: `s${i}` });
  return clientId;
});
if (supervisor.get(ids[0]!)?.state !== 'connected') throw new Error('the clients should be connected');
const payload = { text: 'a message of a modest size, as chat lines and notifications are', at: 0 };
const seqs = new Array<number>(CLIENTS).fill(0);
let sink = 0;

/** `perClient` messages to every client; the page acknowledges every `every`th, up to `lag` behind. */
function round(perClient: number, every: number, lag: number, emit: boolean): void {
  for (let i = 0; i < perClient; i += 1) {
    for (let c = 0; c < CLIENTS; c += 1) {
      const message = { ...payload, at: i };
      if (!emit) {
        sink += message.at & 1;
        continue;
      }
      supervisor.to(ids[c]!).emit('note', i, message);
      seqs[c]! += 1;
      if (seqs[c]! % every === 0) internals.acknowledge(ids[c]!, seqs[c]! - lag);
    }
  }
}

const newSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_used_size;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function measure(every: number, lag: number, emit: boolean): { bytes: number; ns: number } {
  round(200, every, lag, emit); // warm-up
  const bytes: number[] = [];
  for (let k = 0; k < 5; k += 1) {
    gc!();
    const before = newSpace();
    round(20, every, lag, emit); // 4,000 messages: well within the young generation
    bytes.push((newSpace() - before) / (20 * CLIENTS));
  }
  const ns: number[] = [];
  for (let k = 0; k < 7; k += 1) {
    const started = process.cpuUsage();
    round(500, every, lag, emit);
    const cpu = process.cpuUsage(started);
    ns.push(((cpu.user + cpu.system) * 1000) / (500 * CLIENTS));
  }
  return { bytes: median(bytes), ns: median(ns) };
}

const own = measure(1, 0, false);
console.log(`delivery without socket.io: ${CLIENTS} connected clients, median of 5 (bytes) and 7 (CPU) rounds`);
for (const [name, every, lag] of [
  ['25 in flight per client', 25, 25],
  ['each acknowledged before the next', 1, 0],
] as const) {
  const { bytes, ns } = measure(every, lag, true);
  console.log(
    `  ${name.padEnd(34)} ${Math.round(bytes - own.bytes)} B/message allocated, ${Math.round(ns - own.ns)} ns CPU/message (the bench's own message object, ${Math.round(own.bytes)} B, taken off)`,
  );
}
if (sink < 0) console.log(sink);
await supervisor.close();

// an idle client that was sent something: its outbox (two counters), its map entry and its
// channel, with the in-memory delivery alone (20,000 clients, heap after GC)
const IDLE = 20_000;
const records = new Map<string, ClientRecord>();
for (let i = 0; i < IDLE; i += 1) {
  const clientId = `idle-${i}`.padEnd(22, '-');
  records.set(clientId, { clientId, state: 'connected', socketId: `s${i}` } as ClientRecord);
}
const delivery = createDelivery({
  store: { get: (clientId: string) => records.get(clientId), status: () => 'live' } as unknown as ClientStore,
  now: Date.now,
  bridge: { resolve: () => undefined, disconnect: () => {}, resume: () => {}, send: () => {}, askAck: () => {} },
  limits: { maxMessages: 1000, maxBytes: 1_000_000 },
  publish: () => {},
  deleteClient: () => {},
});
gc();
gc();
const before = process.memoryUsage().heapUsed;
for (const clientId of records.keys()) {
  delivery.to(clientId).emit('note', 1, { a: 1 });
  delivery.acknowledge(clientId, 1);
}
gc();
gc();
console.log(
  `  an idle client with an outbox        ${Math.round((process.memoryUsage().heapUsed - before) / IDLE)} B (its outbox, map entry and channel; ${delivery.size().toLocaleString('en')} clients)`,
);
