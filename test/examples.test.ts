import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ExpressExample, startExpressExample } from '../examples/express-ssr/server.js';
import { type SpaExample, startSpaExample } from '../examples/spa/server.js';
import { memoryStorage, type Supervised, supervise } from '../src/client/index.js';
import { once, rejection } from './helpers/io.js';

// The examples in examples/, started as they are and driven with real HTTP requests and real
// socket.io-client sockets over loopback, the browser helper included.

let running: Array<ExpressExample | SpaExample> = [];
let sockets: ClientSocket[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const example of running) await example.close();
  running = [];
  sockets = [];
});

function until(client: Supervised, wanted: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never reached ${wanted} (at ${client.state})`)), 5000);
    const stop = client.subscribe((state) => {
      if (state !== wanted) return;
      clearTimeout(timer);
      queueMicrotask(() => stop());
      resolve();
    });
  });
}

function supervised(url: string, credentials?: { clientId: string; token: string }) {
  const socket = connectClient(url, { autoConnect: false, forceNew: true, transports: ['websocket'] });
  sockets.push(socket);
  const client = supervise(socket, { storage: memoryStorage(), ...(credentials ? { credentials } : {}) });
  socket.connect();
  return { socket, client };
}

describe('example: an Express app with server-rendered pages', () => {
  async function start(options: Parameters<typeof startExpressExample>[0] = {}) {
    const example = await startExpressExample({ port: 0, ...options });
    running.push(example);
    return example;
  }

  /** Loads the page and reads the credentials it was rendered with. */
  async function loadPage(url: string) {
    const response = await fetch(`${url}/?user=ada`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const match = /window\.__SUPERVISOR__ = (\{[^<]*\});/.exec(html);
    expect(match).not.toBeNull();
    return JSON.parse(match![1]!) as { clientId: string; token: string };
  }

  it('should render credentials per page view and supervise the page socket on /live', async () => {
    const example = await start();
    const credentials = await loadPage(example.url);
    expect(example.supervisor.get(credentials.clientId)).toMatchObject({ state: 'handshaking', data: { user: 'ada' } });
    const page = supervised(`${example.url}/live`, credentials);
    await until(page.client, 'connected');
    expect(example.supervisor.get(credentials.clientId)?.state).toBe('connected');
  });

  it('should serve the browser helper as a directory: index.js and the protocol.js it imports', async () => {
    const example = await start();
    const index = await fetch(`${example.url}/vendor/socket.io-supervisor/index.js`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain("from './protocol.js'");
    expect((await fetch(`${example.url}/vendor/socket.io-supervisor/protocol.js`)).status).toBe(200);
  });

  it('should leave the namespaces it does not supervise as they were (gradual rollout)', async () => {
    const example = await start();
    const chat = connectClient(example.url, { forceNew: true, transports: ['websocket'], reconnection: false });
    sockets.push(chat);
    await once(chat, 'connect');
    expect(example.supervisor.list()).toEqual([]);
    // while /live refuses a socket without credentials
    const stray = connectClient(`${example.url}/live`, { forceNew: true, transports: ['websocket'] });
    sockets.push(stray);
    expect((await rejection(stray)).data?.code).toBe('INVALID_HANDSHAKE');
  });

  it('should bound page views per address', async () => {
    const example = await start({ pageViewsPerMinute: 3 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${example.url}/`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(example.supervisor.list()).toHaveLength(3);
  });

  it("should find the socket's client in the app's own connection handler (socket.data.clientId)", async () => {
    const example = await start();
    const credentials = await loadPage(example.url);
    const page = supervised(`${example.url}/live`, credentials);
    await until(page.client, 'connected');
    expect(await page.socket.emitWithAck('cart:add', { item: 'tea' })).toEqual({ items: ['tea'] });
    expect(example.carts.get(credentials.clientId)).toEqual(['tea']);
    // deleted: its state goes with it (onDelete), and the page is told to reload
    example.supervisor.delete(credentials.clientId);
    await until(page.client, 'deleted');
    await vi.waitFor(() => expect(example.carts.has(credentials.clientId)).toBe(false));
  });
});

describe('example: a single-page app with autoRegister', () => {
  async function start(options: Parameters<typeof startSpaExample>[0] = {}) {
    const example = await startSpaExample({ port: 0, ...options });
    running.push(example);
    return example;
  }

  it('should make a client for the socket, not for the page view, and resume it after a drop', async () => {
    const example = await start();
    expect((await fetch(`${example.url}/`)).status).toBe(200);
    expect(example.supervisor.list()).toEqual([]);
    const page = supervised(example.url);
    await until(page.client, 'connected');
    const clientId = page.client.clientId!;
    expect(example.supervisor.get(clientId)?.state).toBe('connected');
    page.socket.io.engine.close(); // the network drops; socket.io-client comes back
    await until(page.client, 'reconnecting');
    await until(page.client, 'connected');
    expect(page.client.clientId).toBe(clientId);
    expect(example.supervisor.list()).toHaveLength(1);
  });

  it('should refuse new clients past rateLimit.autoRegister for one address', async () => {
    const example = await start({ newClientsPerMinute: 2 });
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 3; i++) {
      const socket = connectClient(example.url, { forceNew: true, transports: ['websocket'], reconnection: false });
      sockets.push(socket);
      codes.push(
        await new Promise<string | undefined>((resolve) => {
          socket.once('connect', () => resolve('connected'));
          socket.once('connect_error', (error: Error & { data?: { code?: string } }) => resolve(error.data?.code));
        }),
      );
    }
    expect(codes).toEqual(['connected', 'connected', 'RATE_LIMITED']);
  });

  it('should keep per-client state across a reconnect and drop it with the client', async () => {
    const example = await start();
    const page = supervised(example.url);
    await until(page.client, 'connected');
    const counted = once<number>(page.socket, 'count');
    page.socket.emit('increment');
    expect(await counted).toBe(1);
    page.socket.io.engine.close();
    await until(page.client, 'reconnecting');
    const resumed = once<number>(page.socket, 'count');
    await until(page.client, 'connected');
    expect(await resumed).toBe(1);
    example.supervisor.delete(page.client.clientId!);
    // onDelete runs once the client is deleted, after this call returns
    await vi.waitFor(() => expect(example.counters.size).toBe(0));
  });
});
