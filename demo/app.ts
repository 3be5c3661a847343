import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { Server } from 'socket.io';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { type Inspector, mountInspector } from '../src/inspector/index.js';
import { collectMetrics } from '../src/metrics/index.js';

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

const STATIC: Record<string, { file: string; type: string }> = {
  '/app.js': { file: `${here}public/app.js`, type: 'text/javascript' },
  '/client/index.js': { file: `${root}dist/client/index.js`, type: 'text/javascript' },
};

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The demo: an HTTP server whose page gets fresh credentials on every load (a reload is a new
 * client, as DESIGN.md says), connects with the browser helper and shows its own state;
 * `/supervisor/clients` lists `supervisor.list()`.
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const supervisor = createSupervisor<{ userAgent: string }>({
    reconnectTimeout: options.reconnectTimeout ?? 5000,
    handshakeTimeout: 30_000,
  });
  const page = await readFile(`${here}public/index.html`, 'utf8');
  const mounts = options.mounts ?? [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const mount of mounts) if (mount(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only');
    if (path === '/') {
      const { clientId, token } = supervisor.register({ data: { userAgent: String(req.headers['user-agent'] ?? '') } });
      // the token goes only into this page; JSON.stringify of base64url needs no further escaping
      const credentials = JSON.stringify({ clientId, token });
      return send(res, 200, 'text/html', page.replace('/*CREDENTIALS*/null', credentials));
    }
    if (path === '/metrics') return send(res, 200, metrics.contentType, await metrics.metrics());
    if (path === '/supervisor/clients') {
      return send(
        res,
        200,
        'application/json',
        JSON.stringify({ counts: supervisor.counts(), clients: supervisor.list() }, null, 2),
      );
    }
    const asset = STATIC[path];
    if (asset) return send(res, 200, asset.type, await readFile(asset.file, 'utf8'));
    send(res, 404, 'text/plain', 'not found');
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, 'text/plain', String(error)));
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
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
