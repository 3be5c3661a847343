// The server side of bench/delivery.ts, in its own process:
//   node --import tsx bench/delivery-server.ts
// A socket.io server with the supervisor attached. Over IPC: { cmd: 'register', n } → credentials;
// { cmd: 'send', mode, perClient } → sends perClient messages to every connected client, either
// with to(clientId).emit() or with a bare socket.emit(), yielding every 256 sends; { cmd: 'queue',
// perClient } → queues messages for every (disconnected) client; { cmd: 'stats' } → cpu and counts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { SupervisedSocketData } from 'socket.io-supervisor';
import { createSupervisor } from 'socket.io-supervisor';
import { DELIVERY_BENCH_OPTIONS } from './deliveryOptions.js';

const http = createServer();
const io = new Server<never, never, never, SupervisedSocketData>(http, { transports: ['websocket'] });
const supervisor = createSupervisor(DELIVERY_BENCH_OPTIONS);
supervisor.attach(io);
const tick = () => new Promise((resolve) => setImmediate(resolve));
const payload = { text: 'a message of a modest size, as chat lines and notifications are', at: 0 };

async function send(mode: 'to' | 'bare', perClient: number): Promise<number> {
  const sockets = [...io.of('/').sockets.values()];
  const started = process.cpuUsage();
  let sent = 0;
  for (let i = 0; i < perClient; i += 1) {
    for (const socket of sockets) {
      const message = { ...payload, at: i };
      if (mode === 'to') supervisor.to(socket.data.clientId).emit('note', i, message);
      else (socket as unknown as { emit(...args: unknown[]): void }).emit('note', i, message);
      sent += 1;
      if (sent % 256 === 0) await tick();
    }
  }
  const cpu = process.cpuUsage(started);
  return (cpu.user + cpu.system) / 1000;
}

http.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: (http.address() as AddressInfo).port }));
process.on('message', async (message: { cmd: string; n?: number; mode?: 'to' | 'bare'; perClient?: number }) => {
  if (message.cmd === 'register') {
    process.send?.({
      type: 'credentials',
      credentials: Array.from({ length: message.n ?? 0 }, () => supervisor.register()),
    });
  } else if (message.cmd === 'send') {
    const cpuMs = await send(message.mode!, message.perClient!);
    process.send?.({ type: 'sent', cpuMs });
  } else if (message.cmd === 'queue') {
    for (const view of supervisor.list()) {
      for (let i = 0; i < message.perClient!; i += 1)
        supervisor.to(view.clientId).emit('note', i, { ...payload, at: i });
    }
    process.send?.({ type: 'queued', outbox: supervisor.list().reduce((sum, view) => sum + view.outbox.depth, 0) });
  } else if (message.cmd === 'stats') {
    const outbox = supervisor.list().reduce((sum, view) => sum + view.outbox.depth, 0);
    process.send?.({ type: 'stats', counts: supervisor.counts(), delivery: supervisor.stats().delivery, outbox });
  } else if (message.cmd === 'exit') {
    process.exit(0);
  }
});
