import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { clientRow } from '../src/inspector/clientRow.js';
import { type InspectorOptions, mountInspector } from '../src/inspector/index.js';
import { once } from './helpers/io.js';

// Who gets into the inspector and what they see of each client: real HTTP and real
// socket.io-client viewers over loopback.

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(options: Partial<InspectorOptions> = {}) {
  const http = createServer((req, res) => {
    // an admin route of the app, guarded with the inspector's own key
    const admin = req.url === '/admin' && inspector.isAuthorized(req);
    res.writeHead(admin ? 200 : 404);
    res.end(admin ? 'admin' : 'app');
  });
  const io = new Server(http);
  const supervisor: Supervisor<{ user: string; email: string }> = createSupervisor({
    pruneInterval: 0,
    rateLimit: false,
  });
  supervisor.attach(io);
  const inspector = mountInspector(supervisor as Supervisor, { io, httpServer: http, flushInterval: 20, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  cleanup.push(async () => {
    inspector.close();
    await supervisor.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });
  return { supervisor, inspector, base };
}

/** Which of `cookies` (Set-Cookie values) a browser would send to `path` (RFC 6265 path-match). */
function cookiesFor(cookies: string[], path: string): string {
  return cookies
    .filter((cookie) => {
      const scope = /;\s*Path=([^;]*)/i.exec(cookie)?.[1] ?? '/';
      return path === scope || (path.startsWith(scope) && (scope.endsWith('/') || path[scope.length] === '/'));
    })
    .map((cookie) => cookie.split(';')[0])
    .join('; ');
}

describe('inspector access', () => {
  it("should set a cookie that reaches socket.io's path, so a page opened without ?token= goes live", async () => {
    const { base, inspector } = await setup();
    const page = await fetch(inspector.url(base));
    expect(page.status).toBe(200);
    const cookies = page.headers.getSetCookie();
    for (const cookie of cookies) expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    // the page again, without the token: the cookie scoped to the page opens it
    const again = await fetch(`${base}/supervisor/`, { headers: { cookie: cookiesFor(cookies, '/supervisor/') } });
    expect(again.status).toBe(200);
    // and its live connection, which goes to /socket.io/, carries a cookie that opens the namespace
    const sent = cookiesFor(cookies, '/socket.io/');
    expect(sent).not.toBe('');
    const viewer = connectClient(`${base}/supervisor-inspector`, {
      forceNew: true,
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: sent },
    });
    cleanup.push(() => void viewer.disconnect());
    await once(viewer, 'snapshot');
  });

  it("should tell the app whether a request carries the inspector's key", async () => {
    const { base, inspector } = await setup();
    expect(await (await fetch(`${base}/admin`)).text()).toBe('app');
    const bearer = { authorization: `Bearer ${inspector.token}` };
    expect(await (await fetch(`${base}/admin`, { headers: bearer })).text()).toBe('admin');
    const cookie = { cookie: `sio_supervisor_inspector=${inspector.token}` };
    expect(await (await fetch(`${base}/admin`, { headers: cookie })).text()).toBe('admin');
    // a token in the query string is for opening the page, not a key to every route
    expect(await (await fetch(`${base}/admin?token=${inspector.token}`)).text()).toBe('app');
  });
});

describe("inspector: clients' data", () => {
  async function rows(options: Partial<InspectorOptions>) {
    const { base, inspector, supervisor } = await setup(options);
    supervisor.register({ data: { user: 'alice', email: 'alice@example.org' } });
    const state = await fetch(`${base}/supervisor/state.json`, {
      headers: { authorization: `Bearer ${inspector.token}` },
    });
    return ((await state.json()) as { clients: Array<{ data: unknown; address: unknown }> }).clients;
  }

  it("should show each client's data as JSON text, and its address", async () => {
    const [row] = await rows({});
    expect(row!.data).toBe('{"user":"alice","email":"alice@example.org"}');
    expect(row).toHaveProperty('address');
  });

  it('should pass data through redact before any viewer gets it', async () => {
    const [row] = await rows({ redact: (data) => ({ ...(data as object), email: '(hidden)' }) });
    expect(row!.data).toBe('{"user":"alice","email":"(hidden)"}');
  });

  it('should keep data on the server with showData: false', async () => {
    const [row] = await rows({ showData: false });
    expect(row!.data).toBeNull();
  });

  it('should survive data that is not JSON and a redact that throws', async () => {
    const [row] = await rows({
      redact: () => {
        throw new Error('no');
      },
    });
    expect(row!.data).toMatch(/not shown/);
    const { base, inspector, supervisor } = await setup({ flushInterval: 10 });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    supervisor.register({ data: cyclic as never });
    const viewer = connectClient(`${base}/supervisor-inspector`, {
      forceNew: true,
      transports: ['websocket'],
      auth: { token: inspector.token },
    });
    cleanup.push(() => void viewer.disconnect());
    const snapshot = await once<{ clients: Array<{ data: string }> }>(viewer, 'snapshot');
    expect(snapshot.clients[0]!.data).toMatch(/not shown/);
    // and batches keep flowing with it among the touched clients
    const update = once<{ changed: Array<{ clientId: string; data: string }> }>(viewer, 'update');
    const { clientId } = supervisor.register({ data: cyclic as never });
    expect((await update).changed).toContainEqual(expect.objectContaining({ clientId, data: expect.any(String) }));
  });
});

describe('inspector: a client row', () => {
  const view = {
    clientId: 'a'.repeat(22),
    state: 'connected' as const,
    socketId: 's',
    tabId: null,
    createdAt: 0,
    connectedAt: 0,
    disconnectedAt: null,
    expiresAt: null,
    address: null as string | null,
    outbox: { depth: 0, oldestAt: null },
    data: { big: 'x'.repeat(5000) },
  };

  it("should carry the client's remote address once the view has one, null until then", () => {
    expect(clientRow({ ...view, address: '203.0.113.7' }, { showData: true, redact: undefined }).address).toBe(
      '203.0.113.7',
    );
    expect(clientRow(view, { showData: true, redact: undefined }).address).toBeNull();
  });

  it('should cut long data at 1,000 characters', () => {
    const row = clientRow(view, { showData: true, redact: undefined });
    expect(row.data).toHaveLength(1000);
    expect(row.data!.endsWith('…')).toBe(true);
  });
});
