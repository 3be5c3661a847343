import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { filterInspection, type Inspector, mountInspector } from '../src/inspector/index.js';
import { eventually } from './helpers/eventually.js';
import { once, rejection } from './helpers/io.js';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(options: Partial<Parameters<typeof mountInspector>[1]> = {}) {
  const http = createServer((_req, res) => {
    res.writeHead(200);
    res.end('app');
  });
  const io = new Server(http);
  const supervisor: Supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false });
  supervisor.attach(io);
  const inspector: Inspector = mountInspector(supervisor, { io, httpServer: http, flushInterval: 20, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  cleanup.push(async () => {
    inspector.close();
    await supervisor.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });
  return { http, io, supervisor, inspector, base };
}

/** A viewer of the inspector's namespace, disconnected after the test. */
function viewerOf(base: string, token: string | null) {
  const viewer = connectClient(`${base}/supervisor-inspector`, {
    forceNew: true,
    transports: ['websocket'],
    auth: { token },
  });
  cleanup.push(() => void viewer.disconnect());
  return viewer;
}

describe('inspector over HTTP', () => {
  it('should answer 401 with a clear message without the token', async () => {
    const { base } = await setup();
    const response = await fetch(`${base}/supervisor/`);
    expect(response.status).toBe(401);
    expect(await response.text()).toMatch(/missing or wrong token/);
    expect((await fetch(`${base}/supervisor/?token=wrong`)).status).toBe(401);
  });

  it('should serve the page with the token, set a cookie for the assets, and leave other routes to the app', async () => {
    const { base, inspector } = await setup();
    const page = await fetch(inspector.url(base));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('socket.io-supervisor <span>inspector</span>');
    expect(html).not.toContain('{{');
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await fetch(`${base}/supervisor/inspector.js`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/supervisor/inspector.js`)).status).toBe(401);
    expect(await (await fetch(`${base}/supervisor/clients`)).text()).toBe('app');
    expect(await (await fetch(`${base}/`)).text()).toBe('app');
  });

  it('should use authorize(req) instead of a token when given', async () => {
    const { base, inspector } = await setup({ authorize: (req) => req.headers['x-admin'] === 'yes' });
    expect(inspector.token).toBeNull();
    expect((await fetch(`${base}/supervisor/`)).status).toBe(401);
    expect((await fetch(`${base}/supervisor/`, { headers: { 'x-admin': 'yes' } })).status).toBe(200);
  });

  it('should never send a client token', async () => {
    const { base, inspector, supervisor } = await setup();
    const { token } = supervisor.register({ data: { name: 'x' } });
    const state = await (
      await fetch(`${base}/supervisor/state.json`, { headers: { authorization: `Bearer ${inspector.token}` } })
    ).text();
    expect(state).toContain('"handshaking"');
    expect(state).not.toContain(token);
  });

  it('should restore the app request handler on close', async () => {
    const { http, inspector } = await setup();
    expect(http.listenerCount('request')).toBe(1);
    inspector.close();
    expect(http.listenerCount('request')).toBe(1);
    expect(http.listeners('request')[0]).not.toBe(undefined);
  });
});

describe('inspector namespace', () => {
  it('should refuse a viewer without the token', async () => {
    const { base } = await setup();
    const viewer = connectClient(`${base}/supervisor-inspector`, {
      forceNew: true,
      transports: ['websocket'],
      reconnection: false,
    });
    cleanup.push(() => void viewer.disconnect());
    expect((await rejection(viewer)).message).toMatch(/not authorized/);
  });

  it('should send a snapshot, then batched updates, and honour allowWrites', async () => {
    const { base, inspector, supervisor } = await setup({ allowWrites: false });
    const { clientId } = supervisor.register();
    const viewer = viewerOf(base, inspector.token);
    const snapshot = await once<{ clients: Array<{ clientId: string }>; chart: { states: unknown[] } }>(
      viewer,
      'snapshot',
    );
    expect(snapshot.clients.map((c) => c.clientId)).toEqual([clientId]);
    expect(snapshot.chart.states).toHaveLength(4);
    const update = once<{ events: Array<{ type: string }>; removed: string[] }>(viewer, 'update');
    supervisor.delete(clientId);
    const batch = await update;
    expect(batch.events.map((e) => e.type)).toContain('deleted');
    expect(batch.removed).toEqual([clientId]);
    const other = supervisor.register().clientId;
    const refused = await viewer.emitWithAck('delete', { clientId: other });
    expect(refused).toEqual({ error: expect.stringMatching(/read-only/) });
    expect(supervisor.get(other)).toBeDefined();
  });

  it('should bound what it buffers for viewers: a burst beyond maxBufferedEvents is dropped and counted', async () => {
    const { base, inspector, supervisor } = await setup({ maxBufferedEvents: 10, flushInterval: 50 });
    const viewer = viewerOf(base, inspector.token);
    await once(viewer, 'snapshot');
    const update = once<{ events: Array<{ type: string }>; changed: unknown[]; dropped: number }>(viewer, 'update');
    // 100 registrations in one tick: 100 events, all inside one flush interval
    for (let i = 0; i < 100; i++) supervisor.register();
    const batch = await update;
    expect(batch.events).toHaveLength(10);
    expect(batch.dropped).toBe(90);
    // the table is not lossy: every touched client is in the batch whatever was dropped
    expect(batch.changed).toHaveLength(100);
    // a viewer that connects later gets the last 10 events as history, and all 100 clients
    const late = viewerOf(base, inspector.token);
    const snapshot = await once<{ clients: unknown[]; recent: unknown[] }>(late, 'snapshot');
    expect(snapshot.clients).toHaveLength(100);
    expect(snapshot.recent).toHaveLength(10);
  });

  it('should carry on when a viewer drops mid-stream', async () => {
    const { base, inspector, supervisor, io } = await setup({ flushInterval: 10 });
    const dropping = viewerOf(base, inspector.token);
    const staying = viewerOf(base, inspector.token);
    await Promise.all([once(dropping, 'snapshot'), once(staying, 'snapshot')]);
    const batches: number[] = [];
    staying.on('update', (batch: { changed: unknown[] }) => batches.push(batch.changed.length));
    // clients keep coming while the first viewer's transport is cut without a goodbye
    const churn = setInterval(() => {
      for (let i = 0; i < 20; i++) supervisor.register();
    }, 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    (dropping.io as unknown as { engine: { close(): void } }).engine.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    clearInterval(churn);
    const registered = supervisor.list().length;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last batch
    expect(io.of('/supervisor-inspector').sockets.size).toBe(1);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(registered);
    expect(supervisor.stats().hookErrors).toBe(0);
  });

  it('should send the page a viewer asks for (state, search, sort, next page), and again when its clients change', async () => {
    const { base, inspector, supervisor } = await setup();
    const ids = Array.from({ length: 7 }, (_, i) => supervisor.register({ tabId: `paged-${i}` }).clientId);
    const viewer = viewerOf(base, inspector.token);
    await once(viewer, 'snapshot');
    interface Page {
      seq: number;
      rows: Array<{ clientId: string; tabId: string }>;
      next: number | null;
      total: number;
      offset: number;
    }
    const pages: Page[] = [];
    viewer.on('page', (page: Page) => pages.push(page));
    const ask = async (query: object) => {
      const seq = pages.length + 100;
      expect(await viewer.emitWithAck('view', { ...query, seq })).toEqual({ ok: true });
      await eventually(() => expect(pages.at(-1)?.seq).toBe(seq));
      return pages.at(-1)!;
    };
    const sorted = [...ids].sort();
    const first = await ask({ limit: 3, sort: { key: 'clientId', asc: true } });
    expect(first).toMatchObject({ total: 7, offset: 0 });
    expect(first.rows.map((r) => r.clientId)).toEqual(sorted.slice(0, 3));
    // the same page read again hands out the same place for the next one (nothing piles up per viewer)
    expect((await ask({ limit: 3, sort: { key: 'clientId', asc: true } })).next).toBe(first.next);
    const second = await ask({ limit: 3, sort: { key: 'clientId', asc: true }, cursor: first.next });
    expect(second).toMatchObject({ total: 7, offset: 3 });
    expect(second.rows.map((r) => r.clientId)).toEqual(sorted.slice(3, 6));
    // a search finds text in any column, as the table shows it
    const found = await ask({ search: 'PAGED-4' });
    expect(found.rows.map((r) => r.clientId)).toEqual([ids[4]]);
    expect(found).toMatchObject({ total: 1, next: null });
    expect(await ask({ state: 'connected' })).toMatchObject({ total: 0, rows: [] });
    // the page on screen is read again, unasked, when a client comes
    const shown = await ask({});
    expect(shown.total).toBe(7);
    supervisor.register({ tabId: 'paged-late' });
    await eventually(() => expect(pages.at(-1)).toMatchObject({ seq: shown.seq, total: 8 }));
  });

  it('should let a writable inspector delete a client and prune', async () => {
    const { base, inspector, supervisor } = await setup({ allowWrites: true });
    const { clientId } = supervisor.register();
    const viewer = viewerOf(base, inspector.token);
    await once(viewer, 'snapshot');
    expect(await viewer.emitWithAck('delete', { clientId })).toEqual({ deleted: true });
    expect(await viewer.emitWithAck('prune', {})).toEqual({ pruned: 0 });
    expect(supervisor.stats().deleted).toEqual({ inspector: 1 });
  });
});

describe('filterInspection', () => {
  it('should pass on only the chosen clients and inspection types', async () => {
    const seen: string[] = [];
    const keep = new Set<string>();
    const supervisor = createSupervisor({
      pruneInterval: 0,
      inspect: filterInspection(
        (event) => {
          const systemId = (event.actorRef as { systemId?: string }).systemId;
          seen.push(`${event.type}:${systemId ?? 'supervisor'}`);
        },
        { clientIds: keep, inspectionTypes: ['@xstate.actor', '@xstate.event', '@xstate.snapshot'] },
      ),
    });
    const a = supervisor.register().clientId;
    keep.add(a);
    supervisor.actor.send({ type: 'socket.handshake', clientId: a, socketId: 's' });
    const b = supervisor.register().clientId;
    supervisor.actor.send({ type: 'socket.handshake', clientId: b, socketId: 't' });
    await supervisor.close();
    expect(seen.some((s) => s.endsWith(`:${b}`))).toBe(false);
    expect(seen).toContain(`@xstate.event:${a}`);
    expect(seen).toContain(`@xstate.snapshot:${a}`);
    // the supervisor's own event that names client a passes too
    expect(seen).toContain('@xstate.event:supervisor');
  });
});
