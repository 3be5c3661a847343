// An existing Express app with server-rendered pages, supervised on one socket.io namespace.
// Run it: npm run build && npx tsx examples/express-ssr/server.ts
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express from 'express';
import { Server } from 'socket.io';
import { createSupervisor, type Supervisor } from 'socket.io-supervisor';
import { limitPageViews } from './limitPageViews.js';
import { renderPage } from './page.js';

export interface ExpressExample {
  url: string;
  http: HttpServer;
  io: Server;
  supervisor: Supervisor<{ user: string }>;
  /** Per-client state of the app: a cart per page view, gone when its client is deleted. */
  carts: Map<string, string[]>;
  close(): Promise<void>;
}

export async function startExpressExample(options: { port?: number; pageViewsPerMinute?: number } = {}) {
  const app = express();
  const http = createServer(app);
  const io = new Server(http);
  const carts = new Map<string, string[]>();

  const supervisor = createSupervisor<{ user: string }>({
    // a tab that lost its connection (a train tunnel, a laptop lid) has 10 s to come back
    reconnectTimeout: 10_000,
    // a page view whose script never connects (a bot, a prefetch, a closed tab) is deleted after
    // 15 s: what a page view costs is its client (~3 KB of heap) for at most this long
    handshakeTimeout: 15_000,
    // a ceiling on live clients, whatever the traffic: past it register() throws CLIENT_LIMIT
    maxClients: 10_000,
    hooks: {
      // exactly once per client, whatever races: the place to drop per-client state
      onDelete: (client) => void carts.delete(client.clientId),
    },
  });

  // Gradual rollout: only the namespace that needs per-client state is supervised. Sockets of
  // other namespaces (here `/`, say the app's chat) are left as they were.
  const live = io.of('/live');
  supervisor.attach(live);

  // The browser helper, served as the package ships it: dist/client/index.js imports
  // ./protocol.js beside it, so serve the directory, not the file.
  const helperDir = dirname(fileURLToPath(import.meta.resolve('socket.io-supervisor/client')));
  app.use('/vendor/socket.io-supervisor', express.static(helperDir));
  app.use('/static', express.static(fileURLToPath(new URL('./public/', import.meta.url))));

  // Every view of the page registers a client: bound how many one address may make.
  app.get('/', limitPageViews(options.pageViewsPerMinute ?? 60, 60_000), (req, res) => {
    const user = typeof req.query.user === 'string' ? req.query.user.slice(0, 40) : 'guest';
    try {
      const { clientId, token } = supervisor.register({ data: { user } });
      res.set('cache-control', 'no-store').type('html').send(renderPage({ user, clientId, token }));
    } catch {
      // CLIENT_LIMIT: maxClients reached
      res.status(503).set('retry-after', '30').send('The server is full; try again in a moment.');
    }
  });

  // The app's own handler. The supervisor's middleware ran first and bound the socket to its
  // client: socket.data.clientId says which, for the socket's whole life.
  live.on('connection', (socket) => {
    const { clientId } = socket.data;
    socket.on('cart:add', (payload: unknown, ack: unknown) => {
      if (typeof ack !== 'function') return;
      const item = (payload as { item?: unknown } | null)?.item;
      if (typeof item !== 'string' || item.length > 100) return ack({ error: 'cart:add needs { item }' });
      // a client deleted meanwhile has no cart to add to (its onDelete already ran)
      if (!supervisor.get(clientId)) return ack({ error: 'this page has no client any more: reload it' });
      const cart = carts.get(clientId) ?? [];
      cart.push(item);
      carts.set(clientId, cart);
      ack({ items: cart });
    });
  });

  await new Promise<void>((resolve) => http.listen(options.port ?? 3000, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    http,
    io,
    supervisor,
    carts,
    async close() {
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  } satisfies ExpressExample;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const example = await startExpressExample({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Express example on ${example.url}/?user=ada`);
  process.on('SIGINT', () => void example.close().then(() => process.exit(0)));
}
