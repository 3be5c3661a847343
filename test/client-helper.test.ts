import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage, type SupervisedState, supervise } from '../src/client/index.js';
import { internalsOf } from '../src/core/internals.js';
import { eventually } from './helpers/eventually.js';
import { type Harness, startHarness } from './helpers/io.js';

let h: Harness;
const opened: Array<{ disconnect(): void }> = [];
afterEach(async () => {
  for (const socket of opened.splice(0)) socket.disconnect();
  await h?.close();
});

function pageSocket(storage = memoryStorage(), options: Parameters<typeof supervise>[1] = {}) {
  const socket = io(h.url, { autoConnect: false, forceNew: true, transports: ['websocket'] });
  opened.push(socket);
  const client = supervise(socket, { storage, ...options });
  const states: SupervisedState[] = [];
  client.subscribe((state) => states.push(state));
  return { socket, client, states, storage };
}

function until(states: SupervisedState[], wanted: SupervisedState): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never reached ${wanted}: ${states.join(' → ')}`)), 5000);
    const poll = setInterval(() => {
      if (states.includes(wanted)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 5);
  });
}

describe('browser helper (in Node, against the real server)', () => {
  it('should present server-rendered credentials and a stable tab id', async () => {
    h = await startHarness();
    const credentials = h.supervisor.register();
    const page = pageSocket(memoryStorage(), { credentials });
    page.socket.connect();
    await until(page.states, 'connected');
    expect(page.client.clientId).toBe(credentials.clientId);
    expect(h.supervisor.get(credentials.clientId)).toMatchObject({ state: 'connected', tabId: page.client.tabId });
    expect(page.client.tabId).toMatch(/^[0-9a-f]{24}$/);
  });

  it('should store autoRegister credentials and resume with them after a drop', async () => {
    h = await startHarness({ autoRegister: true, reconnectTimeout: 5000 });
    const page = pageSocket();
    page.socket.connect();
    await until(page.states, 'connected');
    const clientId = page.client.clientId;
    expect(clientId).not.toBeNull();
    const reconnected = h.next((e) => e.type === 'reconnected');
    page.socket.io.engine.close(); // the network drops; socket.io-client retries
    await until(page.states, 'reconnecting');
    expect(await reconnected).toMatchObject({ clientId });
    expect(h.supervisor.list()).toHaveLength(1);
  });

  it('should make a reload a new client in the same tab: credentials are never stored, the tab id is', async () => {
    h = await startHarness({ autoRegister: true, reconnectTimeout: 5000 });
    const inner = memoryStorage();
    const written: string[] = [];
    const storage = {
      ...inner,
      setItem: (key: string, value: string) => {
        written.push(value);
        inner.setItem(key, value);
      },
    };
    const before = pageSocket(storage);
    before.socket.connect();
    await until(before.states, 'connected');
    const first = before.client.clientId!;
    const token = internalsOf(h.supervisor).store.get(first)!.token;
    // nothing of the client reaches the storage a reload would read: only the tab id
    expect(written).toEqual([before.client.tabId]);
    expect(written.some((value) => value.includes(first) || value.includes(token))).toBe(false);
    // the reload: the old page's socket goes, a new page instance starts on the same storage
    before.socket.disconnect();
    const after = pageSocket(storage);
    after.socket.connect();
    await until(after.states, 'connected');
    expect(after.client.tabId).toBe(before.client.tabId);
    expect(after.client.clientId).not.toBe(first);
    expect(h.supervisor.get(after.client.clientId!)).toMatchObject({ state: 'connected', tabId: before.client.tabId });
    // the old client waits out its grace period as DESIGN says, it is not resumed
    expect(h.supervisor.get(first)?.state).toBe('disconnected');
  });

  it('should report replaced when a duplicated tab takes the client over', async () => {
    h = await startHarness();
    const credentials = h.supervisor.register();
    const first = pageSocket(memoryStorage(), { credentials });
    first.socket.connect();
    await until(first.states, 'connected');
    // a duplicated tab starts with a copy of the session storage
    const second = pageSocket(memoryStorage(), { credentials });
    second.socket.connect();
    await until(first.states, 'replaced');
    await until(second.states, 'connected');
    expect(first.states.at(-1)).toBe('replaced');
  });

  it('should report deleted and re-register when the server forgot the client', async () => {
    h = await startHarness({ autoRegister: true });
    const stale = h.supervisor.register();
    h.supervisor.delete(stale.clientId);
    // server-rendered credentials say nothing of autoRegister: the page says the server has it
    const page = pageSocket(memoryStorage(), { credentials: stale, onInvalid: 'reregister' });
    page.socket.connect();
    await until(page.states, 'deleted');
    await until(page.states, 'connected');
    expect(page.client.clientId).not.toBe(stale.clientId);
    expect(h.supervisor.list().map((view) => view.clientId)).toEqual([page.client.clientId]);
  });

  it("should stop when told to and the server can't re-register", async () => {
    h = await startHarness();
    const stale = h.supervisor.register();
    h.supervisor.delete(stale.clientId);
    const page = pageSocket(memoryStorage(), { credentials: stale, onInvalid: 'stop' });
    page.socket.connect();
    await until(page.states, 'deleted');
    expect(page.client.clientId).toBeNull();
    expect(page.socket.connected).toBe(false);
  });

  it("should report deleted when the server deletes the client, with the server's sentence to show", async () => {
    h = await startHarness();
    const credentials = h.supervisor.register();
    const page = pageSocket(memoryStorage(), { credentials });
    page.socket.connect();
    await until(page.states, 'connected');
    h.supervisor.delete(credentials.clientId, 'kicked');
    await until(page.states, 'deleted');
    expect(page.client.clientId).toBeNull();
    expect(page.client.detail).toEqual({
      code: 'CLIENT_DELETED',
      reason: 'kicked',
      message: `client ${credentials.clientId} was deleted by the server (kicked); reload the page to get a new one`,
    });
  });

  it('should say why a shutdown deleted the client', async () => {
    h = await startHarness();
    const credentials = h.supervisor.register();
    const page = pageSocket(memoryStorage(), { credentials });
    page.socket.connect();
    await until(page.states, 'connected');
    await h.supervisor.close();
    await until(page.states, 'deleted');
    expect(page.client.detail.message).toBe(
      `client ${credentials.clientId} was deleted because the server shut down; reload the page to get a new one`,
    );
  });

  it("should report disconnected after the page's own socket.disconnect() (nothing retries), then connected again", async () => {
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const page = pageSocket(memoryStorage(), { credentials });
    page.socket.connect();
    await until(page.states, 'connected');
    page.socket.disconnect();
    await until(page.states, 'disconnected');
    expect(page.client.detail).toEqual({ reason: 'io client disconnect' });
    // socket.io-client does not reconnect by itself after it: the state stays
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(page.socket.active).toBe(false);
    expect(page.states.slice(-1)).toEqual(['disconnected']);
    expect(page.states).not.toContain('reconnecting');
    // the page connects again within the grace period: the same client
    const reconnected = h.next((e) => e.type === 'reconnected');
    page.socket.connect();
    expect(await reconnected).toMatchObject({ clientId: credentials.clientId });
    await eventually(() => expect(page.client.state).toBe('connected'));
  });

  it('should report disconnected, not reconnecting, after a drop when the socket does not reconnect', async () => {
    h = await startHarness({ reconnectTimeout: 5000 });
    const credentials = h.supervisor.register();
    const socket = io(h.url, { autoConnect: false, forceNew: true, transports: ['websocket'], reconnection: false });
    opened.push(socket);
    const client = supervise(socket, { storage: memoryStorage(), credentials });
    socket.connect();
    await eventually(() => expect(client.state).toBe('connected'));
    // the connection drops (the server's end closes it, as a proxy or the network would)
    const socketId = h.supervisor.get(credentials.clientId)!.socketId!;
    h.io.sockets.sockets.get(socketId)!.conn.close();
    await eventually(() => expect(client.state).toBe('disconnected'));
    expect(client.detail).toEqual({ reason: 'transport close' });
  });
});
