import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import type { SupervisorOptions } from '../src/core/options.js';
import { createSupervisor, type LifecycleEvent, type Supervisor } from '../src/index.js';
import type { SupervisedSocketData } from '../src/server/attach.js';
import { eventually } from './helpers/eventually.js';
import { type Harness, once, rejection, startHarness } from './helpers/io.js';

let h: Harness | undefined;
let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('adapter: after close() and detach()', () => {
  it('should refuse every socket with SHUTTING_DOWN once close() has resolved, and let none reach the app', async () => {
    h = await startHarness();
    const reachedApp: string[] = [];
    h.io.on('connection', (socket) => reachedApp.push(socket.id));
    const { clientId, token } = h.supervisor.register();
    await h.supervisor.close();
    for (const auth of [undefined, {}, { clientId: 'garbage' }, { clientId, token }]) {
      const error = await rejection(h.connect(auth));
      expect(error.data?.code).toBe('SHUTTING_DOWN');
    }
    expect(reachedApp).toEqual([]);
  });

  it('should refuse to attach twice to one namespace, naming it', async () => {
    h = await startHarness();
    expect(() => h!.supervisor.attach(h!.io.of('/'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"/"') }),
    );
    expect(() => h!.supervisor.attach(h!.io)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // one client per socket, as before
    const { clientId, token } = h.supervisor.register();
    await once(h.connect({ clientId, token }), 'connect');
    expect(h.supervisor.list()).toHaveLength(1);
  });

  it('should keep nothing per attach()/detach() cycle', async () => {
    h = await startHarness();
    h.detach();
    const internals = internalsOf(h.supervisor);
    const nsp = h.io.of('/cycles');
    const fns = (nsp as unknown as { _fns: unknown[] })._fns;
    for (let i = 0; i < 500; i += 1) h.supervisor.attach(nsp)();
    expect(fns).toHaveLength(1);
    expect(nsp.listenerCount('connection')).toBe(0);
    expect(internals.closeHooks()).toBe(0);
  });
});

describe('adapter: the clients of sockets', () => {
  it('should give the app the clientId in socket.data, typed', async () => {
    h = await startHarness();
    const seen: string[] = [];
    (h.io as unknown as Server<never, never, never, SupervisedSocketData>).on('connection', (socket) => {
      seen.push(socket.data.clientId);
    });
    const { clientId, token } = h.supervisor.register();
    await once(h.connect({ clientId, token }), 'connect');
    expect(seen).toEqual([clientId]);
  });

  it('should delete at once an autoRegister client whose socket went away mid-handshake', async () => {
    h = await startHarness({ autoRegister: true, handshakeTimeout: 60_000 });
    // an application middleware after the supervisor's takes its time; the browser leaves meanwhile
    h.io.use((_socket, next) => void setTimeout(next, 150));
    const deleted = h.next((e) => e.type === 'deleted');
    const socket = h.connect({});
    await eventually(() => expect(h!.supervisor.list()).toHaveLength(1));
    socket.io.engine.close();
    expect(await deleted).toMatchObject({ type: 'deleted', reason: 'handshake-aborted', from: 'handshaking' });
    expect(h.supervisor.list()).toEqual([]);
  });

  it('should not report a socket the server closed for a deleted client as an ignored race', async () => {
    h = await startHarness();
    const { clientId, token } = h.supervisor.register();
    const socket = h.connect({ clientId, token });
    await once(socket, 'connect');
    const events: string[] = [];
    h.supervisor.events$.subscribe((e) => events.push(e.type));
    const gone = once(socket, 'disconnect');
    h.supervisor.delete(clientId, 'kicked');
    await gone;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual(['deleted']);
  });
});

describe('adapter: a restart storm from one address', () => {
  it('should admit every valid client from an address whose stale tabs were all refused', async () => {
    // the default failedHandshakes limit (120 a minute), one address, a server restart: 200 tabs
    // come back with ids the new server never issued, then 50 valid ones arrive
    h = await startHarness({ rateLimit: {} });
    const stale = Array.from({ length: 200 }, (_, i) => ({
      clientId: `stale${String(i).padStart(17, '0')}`,
      token: 'T'.repeat(22),
    }));
    const codes = await Promise.all(stale.map(async (auth) => (await rejection(h!.connect(auth))).data?.code));
    expect(new Set(codes)).toEqual(new Set(['UNKNOWN_CLIENT']));
    const valid = Array.from({ length: 50 }, () => h!.supervisor.register());
    await Promise.all(valid.map((auth) => once(h!.connect(auth), 'connect')));
    expect(h.supervisor.counts().connected).toBe(50);
    expect(h.supervisor.stats().rejected.RATE_LIMITED).toBeUndefined();
  });
});

interface RecoveryRig {
  supervisor: Supervisor;
  io: Server;
  url: string;
  events: LifecycleEvent[];
  connect(auth: object): ClientSocket;
}

async function recoveryRig(
  recovery: NonNullable<ServerOptions['connectionStateRecovery']>,
  options: SupervisorOptions = {},
): Promise<RecoveryRig> {
  const http: HttpServer = createServer();
  const io = new Server(http, { connectionStateRecovery: recovery });
  const supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false, reconnectTimeout: 3000, ...options });
  supervisor.attach(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const events: LifecycleEvent[] = [];
  supervisor.events$.subscribe((event) => events.push(event));
  const sockets: ClientSocket[] = [];
  cleanup.push(async () => {
    for (const socket of sockets) socket.disconnect();
    await supervisor.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });
  return {
    supervisor,
    io,
    url,
    events,
    connect(auth) {
      const socket = connectClient(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 50,
        auth: auth as Record<string, unknown>,
      });
      sockets.push(socket);
      return socket;
    },
  };
}

/** Cuts the transport under a connected socket, as a network drop does; socket.io-client reconnects. */
function drop(socket: ClientSocket): void {
  socket.io.engine.close();
}

/**
 * Registers a client and connects it, lets its session see one broadcast (so it has an offset to
 * recover from), then drops the transport with automatic reconnection off and waits until the
 * client is disconnected.
 */
async function connectThenDrop(rig: RecoveryRig) {
  const { clientId, token } = rig.supervisor.register();
  const socket = rig.connect({ clientId, token });
  await once(socket, 'connect');
  rig.io.emit('tick', 0);
  await once(socket, 'tick');
  socket.io.reconnection(false);
  drop(socket);
  await eventually(() => expect(rig.supervisor.get(clientId)?.state).toBe('disconnected'));
  return { clientId, socket };
}

describe("adapter: socket.io's connection state recovery", () => {
  for (const skipMiddlewares of [true, false]) {
    describe(`skipMiddlewares: ${skipMiddlewares}`, () => {
      it('should bind a recovered socket to its client, which stays connected and is not deleted', async () => {
        const rig = await recoveryRig({ maxDisconnectionDuration: 2000, skipMiddlewares });
        const { clientId, token } = rig.supervisor.register();
        const socket = rig.connect({ clientId, token });
        await once(socket, 'connect');
        const firstId = socket.id;
        // a broadcast so the session has an offset to recover from
        rig.io.emit('tick', 1);
        await once(socket, 'tick');
        drop(socket);
        await once(socket, 'connect');
        expect(socket.recovered).toBe(true);
        expect(socket.id).toBe(firstId);
        await eventually(() =>
          expect(rig.supervisor.get(clientId)).toMatchObject({ state: 'connected', socketId: firstId }),
        );
        expect(rig.events.filter((e) => e.clientId === clientId).map((e) => e.type)).toEqual([
          'registered',
          'connected',
          'disconnected',
          'reconnected',
        ]);
        // and it stays so: no reconnect-timeout for a tab that is connected and working
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(rig.supervisor.get(clientId)?.state).toBe('connected');
      });

      it('should deliver broadcasts missed while away, and keep the client', async () => {
        const rig = await recoveryRig({ maxDisconnectionDuration: 2000, skipMiddlewares });
        const { clientId, token } = rig.supervisor.register();
        const socket = rig.connect({ clientId, token });
        await once(socket, 'connect');
        rig.io.emit('tick', 0);
        await once(socket, 'tick');
        const received: number[] = [];
        socket.on('tick', (n: number) => received.push(n));
        drop(socket);
        await eventually(() => expect(rig.supervisor.get(clientId)?.state).toBe('disconnected'));
        rig.io.emit('tick', 1);
        rig.io.emit('tick', 2);
        await once(socket, 'connect');
        expect(socket.recovered).toBe(true);
        await eventually(() => expect(received).toEqual([1, 2]));
        await eventually(() => expect(rig.supervisor.get(clientId)?.state).toBe('connected'));
      });

      it('should refuse a recovered socket whose client was deleted while it was away', async () => {
        const rig = await recoveryRig({ maxDisconnectionDuration: 2000, skipMiddlewares });
        const { clientId, socket } = await connectThenDrop(rig);
        rig.supervisor.delete(clientId, 'kicked');
        const answers: string[] = [];
        socket.on('tick', () => answers.push('tick'));
        const refusal = new Promise<{ code?: string }>((resolve) => {
          socket.once('supervisor:deleted', (notice: { code?: string }) => resolve(notice));
          socket.once('connect_error', (error: Error & { data?: { code?: string } }) =>
            resolve({ code: error.data?.code }),
          );
        });
        socket.io.reconnection(true);
        socket.connect();
        expect((await refusal).code).toBe('CLIENT_DELETED');
        await eventually(() => expect(socket.connected).toBe(false));
        rig.io.emit('tick', 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(answers).toEqual([]);
        expect(rig.supervisor.list()).toEqual([]);
      });
    });
  }

  it('should accept the pid and offset socket.io-client adds when recovery fails, and resume the client', async () => {
    const rig = await recoveryRig({ maxDisconnectionDuration: 50 });
    const { clientId, socket } = await connectThenDrop(rig);
    // past maxDisconnectionDuration: the session is gone, and the handshake carries pid and offset
    await new Promise((resolve) => setTimeout(resolve, 150));
    socket.io.reconnection(true);
    socket.connect();
    await once(socket, 'connect');
    expect(socket.recovered).toBe(false);
    await eventually(() => expect(rig.supervisor.get(clientId)?.state).toBe('connected'));
    expect(rig.supervisor.stats().rejected).toEqual({});
  });
});
