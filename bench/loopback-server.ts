// The server side of the loopback benchmark, in its own process:
//   node --expose-gc --import tsx bench/loopback-server.ts (map|supervisor)
// Talks to the bench over IPC: { cmd: 'register', n } → credentials; { cmd: 'stats' } → counts, cpu;
// { cmd: 'memory' } → the same after two forced collections (heap, rss).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { createSupervisor } from 'socket.io-supervisor';
import { internalsOf } from '../dist/core/internals.js';

const kind = process.argv[2] as 'map' | 'supervisor';
const GRACE = 120_000;
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

interface Counts {
  connected: number;
  disconnected: number;
  deleted: number;
}
let register: (n: number) => Array<{ clientId: string; token: string }>;
let counts: () => Counts;
/** Clients whose actor is live (the supervisor passivates idle ones); 0 for the Map. */
let active: () => number = () => 0;

if (kind === 'supervisor') {
  const supervisor = createSupervisor({
    reconnectTimeout: GRACE,
    handshakeTimeout: GRACE,
    pruneInterval: 0,
    rateLimit: false,
  });
  supervisor.attach(io);
  register = (n) => Array.from({ length: n }, () => supervisor.register());
  active = () => internalsOf(supervisor).host.activeCount();
  counts = () => {
    const c = supervisor.counts();
    return {
      connected: c.connected,
      disconnected: c.disconnected,
      deleted: supervisor.stats().deleted['reconnect-timeout'] ?? 0,
    };
  };
} else {
  // what users write instead: a Map of clients, token check in a middleware, one grace timer each
  interface Client {
    token: string;
    socketId: string | null;
    timer: ReturnType<typeof setTimeout> | null;
  }
  const clients = new Map<string, Client>();
  let seq = 0;
  let connected = 0;
  let disconnected = 0;
  let deleted = 0;
  io.use((socket, next) => {
    const { clientId, token } = (socket.handshake.auth ?? {}) as { clientId?: string; token?: string };
    const client = clientId ? clients.get(clientId) : undefined;
    if (!client || client.token !== token)
      return next(Object.assign(new Error('unknown client'), { data: { code: 'UNKNOWN_CLIENT' } }));
    (socket.data as { clientId?: string }).clientId = clientId;
    next();
  });
  io.on('connection', (socket: Socket) => {
    const clientId = (socket.data as { clientId: string }).clientId;
    const client = clients.get(clientId);
    if (!client) return void socket.disconnect();
    if (client.timer) {
      clearTimeout(client.timer);
      client.timer = null;
      disconnected -= 1;
    }
    client.socketId = socket.id;
    connected += 1;
    socket.once('disconnect', () => {
      if (client.socketId !== socket.id) return;
      client.socketId = null;
      connected -= 1;
      disconnected += 1;
      client.timer = setTimeout(() => {
        clients.delete(clientId);
        disconnected -= 1;
        deleted += 1;
      }, GRACE);
    });
  });
  register = (n) =>
    Array.from({ length: n }, () => {
      const clientId = `c${++seq}-${Math.random().toString(36).slice(2)}`;
      const token = Math.random().toString(36).slice(2);
      clients.set(clientId, { token, socketId: null, timer: null });
      return { clientId, token };
    });
  counts = () => ({ connected, disconnected, deleted });
}

http.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (http.address() as AddressInfo).port });
});
process.on('message', (message: { cmd: string; n?: number; active?: boolean }) => {
  if (message.cmd === 'register') process.send?.({ type: 'credentials', credentials: register(message.n ?? 0) });
  if (message.cmd === 'stats' || message.cmd === 'memory') {
    // a forced collection only when the heap is measured: polling the counts with gc() inflated
    // the CPU (and wall time) of whichever server had the bigger heap
    if (message.cmd === 'memory') {
      gc();
      gc();
    }
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    process.send?.({
      type: 'stats',
      ...counts(),
      // O(clients): only when the bench waits for the server to be at rest
      active: message.cmd === 'memory' || (message as { active?: boolean }).active ? active() : -1,
      heap: memory.heapUsed,
      rss: memory.rss,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  }
  if (message.cmd === 'exit') process.exit(0);
});
