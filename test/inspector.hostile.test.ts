import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as connectTcp } from 'node:net';
import { Server } from 'socket.io';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { type InspectorOptions, mountInspector } from '../src/inspector/index.js';
import { once, rejection } from './helpers/io.js';

// What an unauthenticated (or read-only) visitor can send to a server with the inspector
// mounted: real HTTP over loopback, raw TCP for request lines no HTTP client would write, real
// socket.io-client sockets. The guard in test/setup fails a test on any uncaught exception.

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(options: Partial<InspectorOptions> = {}) {
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('app');
  });
  const io = new Server(http);
  const supervisor: Supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false });
  supervisor.attach(io);
  const inspector = mountInspector(supervisor, { io, httpServer: http, flushInterval: 20, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  cleanup.push(async () => {
    // a request the server failed to answer must not keep the test waiting on its connection
    http.closeAllConnections();
    inspector.close();
    await supervisor.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });
  return { http, io, supervisor, inspector, base, port };
}

/** Sends `request` as raw bytes and resolves with everything the server answered before closing. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, 2000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(request);
  });
}

/** fetch() that gives up after 3 s instead of waiting forever for an answer that never comes. */
function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
}

const BROKEN_COOKIE = 'sio_supervisor_inspector=%E0%A4%A';

function viewer(base: string, options: Parameters<typeof connectClient>[1] = {}): ClientSocket {
  const socket = connectClient(`${base}/supervisor-inspector`, {
    forceNew: true,
    transports: ['websocket'],
    reconnection: false,
    ...options,
  });
  cleanup.push(() => void socket.disconnect());
  return socket;
}

describe('inspector against hostile requests', () => {
  it('should answer 401 to a page request whose cookie has broken percent-encoding', async () => {
    const { base } = await setup();
    const response = await get(`${base}/supervisor/`, { headers: { cookie: BROKEN_COOKIE } });
    expect(response.status).toBe(401);
    // and the server is still there
    expect(await (await get(`${base}/`)).text()).toBe('app');
  });

  it('should refuse a viewer whose cookie has broken percent-encoding', async () => {
    const { base } = await setup();
    const socket = viewer(base, { extraHeaders: { cookie: BROKEN_COOKIE } });
    expect((await rejection(socket)).message).toMatch(/not authorized/);
    expect(await (await get(`${base}/`)).text()).toBe('app');
  });

  it('should leave a request line the URL parser refuses to the app, as a server without the inspector does', async () => {
    const { port, base } = await setup();
    for (const target of ['//[', '//[/supervisor/', 'http://[::1', '/supervisor/%E0%A4%A']) {
      const answer = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 (200|401|404)/);
    }
    expect(await (await get(`${base}/`)).text()).toBe('app');
  });

  it('should still serve the page with the token in a query string beside other parameters', async () => {
    const { base, inspector } = await setup();
    const response = await get(`${base}/supervisor/?x=%E0%A4%A&token=${encodeURIComponent(inspector.token!)}`);
    expect(response.status).toBe(200);
  });
});

describe('inspector messages from a viewer', () => {
  for (const allowWrites of [false, true]) {
    it(`should survive prune and delete with a non-function acknowledgement (allowWrites: ${allowWrites})`, async () => {
      const { base, inspector, supervisor } = await setup({ allowWrites });
      const { clientId } = supervisor.register();
      const socket = viewer(base, { auth: { token: inspector.token } });
      await once(socket, 'snapshot');
      // a non-function in the acknowledgement slot: socket.io hands it to the listener as is
      socket.emit('prune', {}, 42);
      socket.emit('prune', 'x', 'not a function');
      socket.emit('delete', { clientId }, { ack: 1 });
      socket.emit('delete', null, null);
      socket.emit('delete');
      socket.emit('prune');
      // hostile payloads with a real acknowledgement get an error, never an exception
      const replies = await Promise.all([
        socket.emitWithAck('delete', { clientId: 42 }),
        socket.emitWithAck('delete', { clientId: 'x'.repeat(10_000) }),
        socket.emitWithAck('delete', { clientId: { toString: 1 } }),
        socket.emitWithAck('delete', ['x']),
        socket.emitWithAck('prune', ['x']),
      ]);
      for (const reply of replies) expect(reply).toHaveProperty('error');
      expect(supervisor.get(clientId)).toBeDefined();
      // a well-formed id of no client is simply not deleted
      const ghost = await socket.emitWithAck('delete', { clientId: '__proto__' });
      expect(ghost).toEqual(allowWrites ? { deleted: false } : { error: expect.stringMatching(/read-only/) });
      // the viewer is still served, and so is the app
      expect(socket.connected).toBe(true);
      if (allowWrites) expect(await socket.emitWithAck('delete', { clientId })).toEqual({ deleted: true });
      else expect(await socket.emitWithAck('delete', { clientId })).toHaveProperty('error');
      expect(await (await get(`${base}/`)).text()).toBe('app');
    });
  }

  it('should answer a hostile export with an error and a valid one with a test file, even read-only', async () => {
    const { base, inspector, supervisor } = await setup({ allowWrites: false });
    const { clientId } = supervisor.register();
    const socket = viewer(base, { auth: { token: inspector.token } });
    const snapshot = await once<{ recent: Array<{ clientId: string }> }>(socket, 'snapshot');
    socket.emit('export', { clientId, events: [] }, 'not a function');
    const replies = await Promise.all([
      socket.emitWithAck('export', null),
      socket.emitWithAck('export', { clientId, events: 'x' }),
      socket.emitWithAck('export', { clientId, events: [] }),
      socket.emitWithAck('export', { clientId, events: [{ clientId: 'someone-else', type: 'registered', at: 0 }] }),
      socket.emitWithAck('export', { clientId, events: [{ clientId, type: 'registered', at: 'soon' }] }),
      socket.emitWithAck('export', { clientId, events: Array.from({ length: 6000 }, () => ({ clientId })) }),
    ]);
    for (const reply of replies) expect(reply).toHaveProperty('error');
    const history = snapshot.recent.filter((event) => event.clientId === clientId);
    expect(history.length).toBeGreaterThan(0);
    const reply = await socket.emitWithAck('export', { clientId, events: history });
    expect(reply).toMatchObject({
      filename: `client-${clientId.slice(0, 8)}.test.ts`,
      source: expect.stringContaining(clientId),
    });
    expect(socket.connected).toBe(true);
  });

  it('should answer a hostile page request with an error, and still read the pages a viewer asks for', async () => {
    const { base, inspector, supervisor } = await setup();
    for (let i = 0; i < 3; i++) supervisor.register();
    const socket = viewer(base, { auth: { token: inspector.token } });
    await once(socket, 'snapshot');
    // no acknowledgement, or a non-function in its slot: nothing thrown, nothing read
    socket.emit('view', { limit: 1e9 }, 42);
    socket.emit('view', null, 'not a function');
    socket.emit('view');
    const replies = await Promise.all([
      socket.emitWithAck('view', null),
      socket.emitWithAck('view', ['x']),
      socket.emitWithAck('view', { limit: 0 }),
      socket.emitWithAck('view', { limit: 201 }),
      socket.emitWithAck('view', { limit: 1.5 }),
      socket.emitWithAck('view', { limit: '50' }),
      socket.emitWithAck('view', { state: 'deleted' }),
      socket.emitWithAck('view', { state: { toString: 1 } }),
      socket.emitWithAck('view', { search: 'x'.repeat(10_000) }),
      socket.emitWithAck('view', { search: 42 }),
      socket.emitWithAck('view', { cursor: -1 }),
      socket.emitWithAck('view', { cursor: '0:0' }),
      // a cursor the server never handed out: no such page
      socket.emitWithAck('view', { cursor: 12345 }),
      socket.emitWithAck('view', { sort: { key: '__proto__', asc: true } }),
      socket.emitWithAck('view', { sort: { key: 'clientId', asc: 'yes' } }),
      socket.emitWithAck('view', { seq: Number.POSITIVE_INFINITY }),
      socket.emitWithAck('view', { extra: 1 }),
      socket.emitWithAck('view', JSON.parse('{"__proto__": {"limit": 1}}')),
    ]);
    for (const reply of replies) expect(reply).toHaveProperty('error');
    // a well-formed request is answered, and its page comes
    const page = once<{ seq: number; rows: unknown[]; total: number }>(socket, 'page');
    expect(await socket.emitWithAck('view', { limit: 2, seq: 7 })).toEqual({ ok: true });
    expect(await page).toMatchObject({ seq: 7, total: 3, rows: [expect.anything(), expect.anything()] });
    expect(socket.connected).toBe(true);
  });
});
