import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, once, startHarness } from './helpers/io.js';

let h: Harness;
afterEach(async () => h?.close());

describe('adapter: lifecycle over real sockets', () => {
  it('should take a client through connect, disconnect, grace and delete', async () => {
    const deleted: string[] = [];
    h = await startHarness({
      reconnectTimeout: 150,
      hooks: { onDelete: (_client, reason) => void deleted.push(reason) },
    });
    const { clientId, token } = h.supervisor.register({ tabId: 'tab-1' });
    const connected = h.next((e) => e.type === 'connected' && e.clientId === clientId);
    const socket = h.connect({ clientId, token, tabId: 'tab-1' });
    await once(socket, 'connect');
    await connected;
    expect(h.supervisor.get(clientId)).toMatchObject({
      state: 'connected',
      socketId: expect.any(String),
      tabId: 'tab-1',
    });
    const disconnected = h.next((e) => e.type === 'disconnected');
    socket.disconnect();
    expect(await disconnected).toMatchObject({ clientId, reason: 'client namespace disconnect' });
    expect(h.supervisor.get(clientId)?.state).toBe('disconnected');
    expect(await h.next((e) => e.type === 'deleted')).toMatchObject({ clientId, reason: 'reconnect-timeout' });
    expect(h.supervisor.get(clientId)).toBeUndefined();
    expect(deleted).toEqual(['reconnect-timeout']);
  });

  it('should keep the client when it reconnects within the grace period', async () => {
    h = await startHarness({ reconnectTimeout: 2000 });
    const { clientId, token } = h.supervisor.register();
    const first = h.connect({ clientId, token });
    await once(first, 'connect');
    const firstId = first.id;
    const disconnected = h.next((e) => e.type === 'disconnected');
    first.disconnect();
    await disconnected;
    const reconnected = h.next((e) => e.type === 'reconnected');
    const second = h.connect({ clientId, token });
    await once(second, 'connect');
    expect(await reconnected).toMatchObject({ clientId });
    expect(h.supervisor.get(clientId)).toMatchObject({ state: 'connected', clientId });
    expect(h.supervisor.get(clientId)?.socketId).not.toBe(firstId);
  });

  it('should work over the polling transport too', async () => {
    h = await startHarness({ reconnectTimeout: 100 });
    const { clientId, token } = h.supervisor.register();
    const socket = h.connect({ clientId, token }, { transports: ['polling'] });
    await once(socket, 'connect');
    await h.supervisor.connected(clientId, { timeout: 2000 });
    const deleted = h.next((e) => e.type === 'deleted');
    socket.disconnect();
    expect(await deleted).toMatchObject({ clientId, reason: 'reconnect-timeout' });
  });

  it('should report the transport dropping with socket.io reason', async () => {
    h = await startHarness({ reconnectTimeout: 1000 });
    const { clientId, token } = h.supervisor.register();
    const socket = h.connect({ clientId, token });
    await once(socket, 'connect');
    const disconnected = h.next((e) => e.type === 'disconnected');
    // close the underlying connection abruptly, as a crashed tab would
    socket.io.engine.close();
    expect(await disconnected).toMatchObject({ clientId, reason: 'transport close' });
  });

  it('should swap sockets: the first is told supervisor:replaced, then disconnected by the server', async () => {
    // what the supervisor actor receives, seen through XState inspection
    const disconnects: Array<{ socketId: string; reason: string }> = [];
    h = await startHarness({
      inspect: (inspection) => {
        const { event, actorRef } = inspection as {
          event?: { type: string; socketId: string; reason: string };
          actorRef: { systemId?: string };
        };
        // socket events go straight to the client's actor (its systemId is the clientId)
        if (inspection.type === '@xstate.event' && event?.type === 'socket.disconnect' && actorRef.systemId) {
          disconnects.push({ socketId: event.socketId, reason: event.reason });
        }
      },
    });
    const { clientId, token } = h.supervisor.register();
    const first = h.connect({ clientId, token });
    await once(first, 'connect');
    const replacedNotice = once<{ clientId: string }>(first, 'supervisor:replaced');
    const firstGone = once<string>(first, 'disconnect');
    const swapped = h.next((e) => e.type === 'socket-replaced');
    const stale = h.next((e) => e.type === 'ignored' && e.why === 'stale-socket');
    const second = h.connect({ clientId, token });
    await once(second, 'connect');
    expect(await replacedNotice).toEqual({ clientId, reason: 'replaced' });
    expect(await firstGone).toBe('io server disconnect');
    expect(await swapped).toMatchObject({ clientId, socketId: second.id });
    // the old socket's disconnect reached the client's actor after the swap, with reason
    // `replaced` (DESIGN.md), and was ignored as stale
    const staleEvent = await stale;
    expect(staleEvent).toMatchObject({ clientId, socketId: expect.any(String) });
    expect(disconnects).toEqual([{ socketId: (staleEvent as { socketId: string }).socketId, reason: 'replaced' }]);
    expect(h.supervisor.get(clientId)).toMatchObject({ state: 'connected', socketId: second.id });
  });

  it('should disconnect the socket when the server deletes its client', async () => {
    const calls: string[] = [];
    h = await startHarness({
      hooks: { onDisconnect: () => void calls.push('onDisconnect'), onDelete: () => void calls.push('onDelete') },
    });
    const { clientId, token } = h.supervisor.register();
    const socket = h.connect({ clientId, token });
    await once(socket, 'connect');
    const notice = once(socket, 'supervisor:deleted');
    const gone = once<string>(socket, 'disconnect');
    const events: string[] = [];
    h.supervisor.events$.subscribe((e) => events.push(e.type === 'ignored' ? `ignored:${e.why}` : e.type));
    expect(h.supervisor.delete(clientId, 'kicked')).toBe(true);
    // the page learns why its client went (a kick, not a restart), in a sentence it can show
    expect(await notice).toEqual({
      clientId,
      reason: 'kicked',
      message: `client ${clientId} was deleted by the server (kicked); reload the page to get a new one`,
    });
    expect(await gone).toBe('io server disconnect');
    // the socket the server closed itself is not reported back as an `ignored already-deleted`
    // race: nothing raced, the server decided (issue 15: the inspector showed every kick as one)
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual(['deleted']);
    expect(calls).toEqual(['onDelete']);
  });

  it('should give onConnect the live socket', async () => {
    let seen: unknown;
    h = await startHarness({
      hooks: {
        onConnect: (_client, { socket }) => {
          seen = socket;
        },
      },
    });
    const { clientId, token } = h.supervisor.register();
    const socket = h.connect({ clientId, token });
    await once(socket, 'connect');
    await h.supervisor.connected(clientId);
    await new Promise((resolve) => setImmediate(resolve));
    expect((seen as { id: string }).id).toBe(socket.id);
    expect(h.io.sockets.sockets.get(socket.id!)).toBe(seen);
  });

  it('should bind a socket to its client for its whole life', async () => {
    h = await startHarness({ reconnectTimeout: 1000 });
    const a = h.supervisor.register();
    const b = h.supervisor.register();
    const socket = h.connect(a);
    await once(socket, 'connect');
    const serverSide = h.io.sockets.sockets.get(socket.id!)!;
    // whatever the handshake data says later, the socket still speaks for client a
    (serverSide.handshake as { auth: unknown }).auth = { clientId: b.clientId, token: b.token };
    const disconnected = h.next((e) => e.type === 'disconnected');
    socket.disconnect();
    expect(await disconnected).toMatchObject({ clientId: a.clientId });
    expect(h.supervisor.get(b.clientId)?.state).toBe('handshaking');
  });

  it('should not leave a connected client behind when the socket died before its handshake was processed', async () => {
    h = await startHarness({ reconnectTimeout: 100 });
    // an application listener registered before the supervisor's drops the socket at once
    h.detach();
    h.io.on('connection', (socket) => socket.disconnect(true));
    h.detach = h.supervisor.attach(h.io);
    const { clientId, token } = h.supervisor.register();
    const disconnected = h.next((e) => e.type === 'disconnected');
    h.connect({ clientId, token });
    expect(await disconnected).toMatchObject({ clientId, reason: 'transport close' });
    expect(await h.next((e) => e.type === 'deleted')).toMatchObject({ clientId });
  });
});
