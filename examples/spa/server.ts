// A single-page app on plain node:http: the page is static, the server auto-registers a client
// for each page load's socket. Run it: npm run build && npx tsx examples/spa/server.ts
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Server } from 'socket.io';
import { createSupervisor, type Supervisor } from 'socket.io-supervisor';

export interface SpaExample {
  url: string;
  http: HttpServer;
  io: Server;
  supervisor: Supervisor;
  /** Per-client state of the app: a counter per page load, gone when its client is deleted. */
  counters: Map<string, number>;
  close(): Promise<void>;
}

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
// the browser helper as the package ships it: index.js imports the modules beside it
// (./protocol.js, ./inbox.js), so the whole directory is served
const HELPER = dirname(fileURLToPath(import.meta.resolve('socket.io-supervisor/client')));
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: join(PUBLIC, 'index.html'), type: 'text/html' },
  '/app.js': { file: join(PUBLIC, 'app.js'), type: 'text/javascript' },
};
for (const name of readdirSync(HELPER)) {
  if (name.endsWith('.js'))
    FILES[`/vendor/socket.io-supervisor/${name}`] = { file: join(HELPER, name), type: 'text/javascript' };
}

async function serveFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const entry = FILES[(req.url ?? '/').split('?')[0] ?? '/'];
  if (!entry || req.method !== 'GET') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': `${entry.type}; charset=utf-8` });
  res.end(await readFile(entry.file));
}

export async function startSpaExample(options: { port?: number; newClientsPerMinute?: number } = {}) {
  const http = createServer((req, res) => {
    serveFile(req, res).catch(() => res.writeHead(500).end());
  });
  const io = new Server(http);
  const counters = new Map<string, number>();

  const supervisor = createSupervisor({
    // a socket that brings no clientId gets a new client, told to it as supervisor:client;
    // the page's static HTML costs nothing, its socket is what makes a client
    autoRegister: true,
    reconnectTimeout: 10_000,
    // per address: at most 30 new clients a minute (a page load makes one; a script that
    // opens sockets in a loop is refused RATE_LIMITED), and 120 rejected handshakes a minute
    // (guessing tokens)
    rateLimit: { autoRegister: { limit: options.newClientsPerMinute ?? 30, window: 60_000 } },
    // and at most 10,000 live clients in all, whatever the number of addresses (CLIENT_LIMIT)
    maxClients: 10_000,
    hooks: { onDelete: (client) => void counters.delete(client.clientId) },
  });
  supervisor.attach(io);

  io.on('connection', (socket) => {
    // bound to its client by the supervisor's middleware, for the socket's whole life
    const { clientId } = socket.data;
    socket.emit('count', counters.get(clientId) ?? 0);
    socket.on('increment', () => {
      if (!supervisor.get(clientId)) return;
      const count = (counters.get(clientId) ?? 0) + 1;
      counters.set(clientId, count);
      socket.emit('count', count);
    });
  });

  await new Promise<void>((resolve) => http.listen(options.port ?? 3000, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    http,
    io,
    supervisor,
    counters,
    async close() {
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  } satisfies SpaExample;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const example = await startSpaExample({ port: Number(process.env.PORT ?? 3000) });
  console.log(`single-page example on ${example.url}/`);
  process.on('SIGINT', () => void example.close().then(() => process.exit(0)));
}
