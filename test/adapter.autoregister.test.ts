import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, once, rejection, startHarness } from './helpers/io.js';

let h: Harness;
afterEach(async () => h?.close());

describe('adapter: autoRegister', () => {
  it('should give a socket without clientId a new client and tell it the credentials', async () => {
    h = await startHarness({ autoRegister: true, reconnectTimeout: 2000 });
    const socket = h.connect({ tabId: 'spa-tab' });
    const credentials = await once<{ clientId: string; token: string }>(socket, 'supervisor:client');
    expect(credentials.clientId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(h.supervisor.get(credentials.clientId)).toMatchObject({
      state: 'connected',
      tabId: 'spa-tab',
      socketId: socket.id,
    });
    // resume later with those credentials
    const disconnected = h.next((e) => e.type === 'disconnected');
    socket.disconnect();
    await disconnected;
    const reconnected = h.next((e) => e.type === 'reconnected');
    const resumed = h.connect(credentials);
    await once(resumed, 'connect');
    expect(await reconnected).toMatchObject({ clientId: credentials.clientId });
    expect(h.supervisor.list()).toHaveLength(1);
    expect(h.supervisor.get(credentials.clientId)?.socketId).toBe(resumed.id);
  });
});

describe('adapter: close() and detach()', () => {
  it('should close with 100 connected sockets: each client deleted once, every socket disconnected', async () => {
    const deletes = new Map<string, number>();
    h = await startHarness({
      hooks: {
        onDelete: (client, reason) =>
          void deletes.set(`${client.clientId}:${reason}`, (deletes.get(`${client.clientId}:${reason}`) ?? 0) + 1),
      },
    });
    const sockets = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const socket = h.connect(h.supervisor.register());
        await once(socket, 'connect');
        return socket;
      }),
    );
    expect(h.supervisor.counts().connected).toBe(100);
    const gone = Promise.all(sockets.map((socket) => once<string>(socket, 'disconnect')));
    await h.supervisor.close();
    expect(new Set(await gone)).toEqual(new Set(['io server disconnect']));
    expect(deletes.size).toBe(100);
    expect([...deletes.keys()].every((key) => key.endsWith(':shutdown'))).toBe(true);
    expect([...deletes.values()].every((count) => count === 1)).toBe(true);
    expect(h.io.of('/').sockets.size).toBe(0);
  });

  it('should remove its listeners on detach, keep one middleware that refuses, and reuse it on attach', async () => {
    h = await startHarness();
    const nsp = h.io.of('/');
    const fns = (nsp as unknown as { _fns: unknown[] })._fns;
    expect(nsp.listenerCount('connection')).toBe(1);
    expect(fns).toHaveLength(1);
    const { clientId, token } = h.supervisor.register();
    const socket = h.connect({ clientId, token });
    await once(socket, 'connect');
    const serverSide = nsp.sockets.get(socket.id!)!;
    const listenersBefore = serverSide.listenerCount('disconnect');
    expect(listenersBefore).toBe(1);
    const disconnected = h.next((e) => e.type === 'disconnected');
    h.detach();
    h.detach();
    expect(nsp.listenerCount('connection')).toBe(0);
    expect(serverSide.listenerCount('disconnect')).toBe(0);
    // the detached socket's client starts its grace period instead of staying connected forever
    expect(await disconnected).toMatchObject({ clientId, reason: 'supervisor detached' });
    // socket.io cannot remove a middleware: the one it had stays and refuses (fails closed)
    expect(fns).toHaveLength(1);
    const refused = await rejection(h.connect({ clientId, token }));
    expect(refused.data?.code).toBe('SHUTTING_DOWN');
    // attaching again reuses it: no second middleware, and sockets are supervised again
    h.supervisor.attach(h.io);
    expect(fns).toHaveLength(1);
    expect(nsp.listenerCount('connection')).toBe(1);
    await once(h.connect({ clientId, token }), 'connect');
    expect(h.supervisor.get(clientId)?.state).toBe('connected');
  });

  it("should let sockets through unsupervised after detach() when attached with afterDetach: 'admit'", async () => {
    h = await startHarness();
    h.detach();
    const nsp = h.io.of('/admitting');
    const detach = h.supervisor.attach(nsp, { afterDetach: 'admit' });
    detach();
    const { io } = await import('socket.io-client');
    const socket = io(`${h.url}/admitting`, { transports: ['websocket'], forceNew: true, reconnection: false });
    await once(socket, 'connect');
    expect(h.supervisor.list()).toEqual([]);
    socket.disconnect();
  });

  it('should attach to several namespaces and close sockets in any of them', async () => {
    h = await startHarness();
    const detachAdmin = h.supervisor.attach(h.io.of('/admin'));
    const { clientId, token } = h.supervisor.register();
    const admin = h.connect({ clientId, token }, { path: '/socket.io' });
    admin.disconnect();
    const { io } = await import('socket.io-client');
    const socket = io(`${h.url}/admin`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { clientId, token },
    });
    await once(socket, 'connect');
    expect(h.supervisor.get(clientId)?.socketId).toBe(socket.id);
    const gone = once<string>(socket, 'disconnect');
    h.supervisor.delete(clientId);
    expect(await gone).toBe('io server disconnect');
    detachAdmin();
    expect(h.io.of('/admin').listenerCount('connection')).toBe(0);
  });
});
