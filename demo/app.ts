import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { Server } from 'socket.io';
import { type ClientCounts, createSupervisor, isSupervisorError, type Supervisor } from '../src/index.js';
import { type Inspector, mountInspector } from '../src/inspector/index.js';
import { collectMetrics } from '../src/metrics/index.js';
import { createPageLimiter } from './pageLimiter.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

export interface DemoOptions {
  port?: number;
  host?: string;
  /** Grace period of the demo; short so the lifecycle is visible. @default 5000 */
  reconnectTimeout?: number;
  /** Extra route handlers tried before the demo's own. */
  mounts?: Array<(req: IncomingMessage, res: ServerResponse) => boolean>;
  /** The inspector's token. @default a random one, printed on start */
  inspectorToken?: string;
  /** Live clients at most (each page view registers one). @default 1000 */
  maxClients?: number;
  /** Page views per address and minute; past it, 429. @default 60 */
  pageViewsPerMinute?: number;
}

export interface Demo {
  url: string;
  inspector: Inspector;
  /** The inspector's URL, token included. */
  inspectorUrl: string;
  supervisor: Supervisor<{ userAgent: string }>;
  io: Server;
  close(): Promise<void>;
}

const PUBLIC: Record<string, { file: string; type: string }> = {
  '/app.js': { file: `${here}public/app.js`, type: 'text/javascript' },
};
// the browser helper as the package ships it: dist/client/index.js imports ./protocol.js beside
// it, so the directory is served, not one file
const CLIENT_DIR = `${root}dist/client/`;

function send(res: ServerResponse, status: number, type: string, body: string, headers = {}): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/**
 * The demo: an HTTP server whose page gets fresh credentials on every load (a reload is a new
 * client, as DESIGN.md says), connects with the browser helper and shows its own state;
 * `/supervisor/clients` lists `supervisor.list()` to whoever holds the inspector's token.
 * Page views are bounded per address (`pageViewsPerMinute`) and in all (`maxClients`).
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const supervisor = createSupervisor<{ userAgent: string }>({
    reconnectTimeout: options.reconnectTimeout ?? 5000,
    // a page view that never opens its socket (a bot, a prefetch) holds its client this long
    handshakeTimeout: 30_000,
    maxClients: options.maxClients ?? 1000,
    hooks: {
      // a note addressed to the client, not its socket: the page gets it once, in order, even if
      // the connection drops right now
      onConnect: (client, { reconnect }) => {
        supervisor.to(client.clientId).emit('note', reconnect ? 'welcome back' : 'welcome');
      },
    },
  });
  const page = await readFile(`${here}public/index.html`, 'utf8');
  const clientFiles = new Set((await readdir(CLIENT_DIR)).filter((name) => name.endsWith('.js')));
  const mounts = options.mounts ?? [];
  const pageViews = createPageLimiter({ limit: options.pageViewsPerMinute ?? 60, window: 60_000 });
  let counts: ClientCounts = { handshaking: 0, connected: 0, disconnected: 0, total: 0 };
  const countsSubscription = supervisor.counts$.subscribe((latest) => {
    counts = latest;
  });

  function renderPage(req: IncomingMessage, res: ServerResponse): void {
    const address = req.socket.remoteAddress ?? '';
    if (!pageViews.hit(address)) {
      const retryAfter = String(pageViews.retryAfter(address));
      send(res, 429, 'text/plain', 'too many page loads from your address; wait a minute', {
        'retry-after': retryAfter,
      });
      return;
    }
    try {
      const { clientId, token } = supervisor.register({ data: { userAgent: String(req.headers['user-agent'] ?? '') } });
      // the token goes only into this page; JSON.stringify of base64url needs no further escaping
      const credentials = JSON.stringify({ clientId, token });
      send(res, 200, 'text/html', page.replace('/*CREDENTIALS*/null', credentials));
    } catch (error) {
      if (!isSupervisorError(error) || error.code !== 'CLIENT_LIMIT') throw error;
      send(res, 503, 'text/plain', 'the demo has as many clients as it accepts; retry in a minute', {
        'retry-after': '60',
      });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const mount of mounts) if (mount(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only');
    if (path === '/') return renderPage(req, res);
    if (path === '/counts') return send(res, 200, 'application/json', JSON.stringify(counts));
    if (path === '/metrics') {
      // prom-client's contentType already names its charset
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
      res.end(await metrics.metrics());
      return;
    }
    if (path === '/supervisor/clients') {
      // every client's data: for whoever may open the inspector, no one else
      if (!inspector.isAuthorized(req)) {
        return send(res, 401, 'text/plain', 'the client list needs the inspector token (Authorization: Bearer …)');
      }
      const body = { counts, clients: supervisor.list() };
      return send(res, 200, 'application/json', JSON.stringify(body, null, 2));
    }
    const name = path?.startsWith('/client/') ? path.slice('/client/'.length) : null;
    if (name && clientFiles.has(name))
      return send(res, 200, 'text/javascript', await readFile(CLIENT_DIR + name, 'utf8'));
    const asset = PUBLIC[path ?? ''];
    if (asset) return send(res, 200, asset.type, await readFile(asset.file, 'utf8'));
    send(res, 404, 'text/plain', 'not found');
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else send(res, 500, 'text/plain', 'the demo failed to answer this request');
    });
  });
  const io = new Server(http);
  supervisor.attach(io);
  // the inspector answers its own routes under /supervisor in front of the demo's handler
  const inspector = mountInspector(supervisor, {
    io,
    httpServer: http,
    allowWrites: true,
    ...(options.inspectorToken ? { token: options.inspectorToken } : {}),
  });
  const metrics = new Registry();
  const stopMetrics = collectMetrics(supervisor as Supervisor, { registry: metrics });
  io.on('connection', (socket) => {
    socket.on('ping-server', (reply: unknown) => {
      if (typeof reply === 'function') reply(Date.now());
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 3000, options.host ?? '127.0.0.1', resolve));
  const address = http.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  return {
    url,
    inspector,
    inspectorUrl: inspector.url(url),
    supervisor,
    io,
    async close() {
      inspector.close();
      stopMetrics();
      countsSubscription.unsubscribe();
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
