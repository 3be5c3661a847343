import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { createSupervisor } from '../../src/index.js';

/**
 * Whether the adapter tells the app's `io.on('connection')` which client a socket speaks for,
 * as `socket.data.clientId` (issue 15; the examples are written against it). Asked of a real
 * server once, so tests of what depends on it run as soon as the adapter does it.
 */
export async function adapterSetsClientId(): Promise<boolean> {
  const http = createServer();
  const io = new Server(http);
  const supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false, autoRegister: true });
  supervisor.attach(io);
  let seen: unknown;
  io.on('connection', (socket) => {
    seen = socket.data?.clientId;
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const socket = connectClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, {
    forceNew: true,
    transports: ['websocket'],
    reconnection: false,
  });
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', () => resolve());
  });
  socket.disconnect();
  await supervisor.close();
  await new Promise<void>((resolve) => io.close(() => resolve()));
  return typeof seen === 'string';
}
