import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { Server } from 'socket.io';
import {
  type Socket as ClientSocket,
  io as connectClient,
  type ManagerOptions,
  type SocketOptions,
} from 'socket.io-client';
import type { SupervisorOptions } from '../../src/core/options.js';
import { createSupervisor, type LifecycleEvent, type Supervisor } from '../../src/index.js';

export interface Harness {
  http: HttpServer;
  io: Server;
  supervisor: Supervisor;
  url: string;
  detach: () => void;
  /** A real socket.io-client socket over loopback (websocket, no automatic reconnection). */
  connect(auth?: unknown, options?: Partial<ManagerOptions & SocketOptions>): ClientSocket;
  /** Resolves with the first lifecycle event matching `predicate` (5 s at most). */
  next(predicate: (event: LifecycleEvent) => boolean): Promise<LifecycleEvent>;
  /** Closes every client socket, the supervisor, socket.io and the HTTP server. */
  close(): Promise<void>;
}

/** A real HTTP + socket.io server on an ephemeral loopback port with the supervisor attached. */
export async function startHarness(options: SupervisorOptions = {}): Promise<Harness> {
  const http = createServer();
  const io = new Server(http);
  const supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false, ...options });
  const detach = supervisor.attach(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const sockets: ClientSocket[] = [];
  return {
    http,
    io,
    supervisor,
    url,
    detach,
    connect(auth, options = {}) {
      const socket = connectClient(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        ...(auth === undefined ? {} : { auth: auth as Record<string, unknown> }),
        ...options,
      });
      sockets.push(socket);
      return socket;
    },
    next(predicate) {
      return firstValueFrom((supervisor.events$ as Observable<LifecycleEvent>).pipe(filter(predicate), timeout(5000)));
    },
    async close() {
      for (const socket of sockets) socket.disconnect();
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Resolves with the arguments of the next `event` on `emitter` (5 s at most). */
export function once<T = unknown>(
  emitter: { once(event: string, fn: (...args: any[]) => void): unknown },
  event: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), 5000);
    emitter.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Resolves with the `connect_error` of a socket that must be rejected. */
export function rejection(socket: ClientSocket): Promise<Error & { data?: { code?: string } }> {
  return once(socket, 'connect_error');
}
