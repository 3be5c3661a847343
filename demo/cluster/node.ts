// One node of `npm run demo:cluster`: a real socket.io server with the cluster supervisor, a page
// and a small JSON API (cluster-wide, read from Redis). Started by demo/cluster/run.ts.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { createClusterSupervisor } from '../../src/cluster/index.js';

const [redis, nodeId, port] = process.argv.slice(2) as [string, string, string];
const here = fileURLToPath(new URL('.', import.meta.url));
const page = await readFile(`${here}index.html`, 'utf8');

const supervisor = await createClusterSupervisor<{ node: string }>({
  redis,
  nodeId,
  reconnectTimeout: 10_000,
  heartbeatInterval: 1000,
  nodeTtl: 4000,
  // every page comes through the proxy: one address for all, so no per-address limits
  rateLimit: false,
  hooks: {
    onConnect: (client, { reconnect }, { fence }) =>
      console.log(`[${nodeId}] onConnect    ${client.clientId} reconnect=${reconnect} fence=${fence}`),
    onDisconnect: (client, reason, { fence }) =>
      console.log(`[${nodeId}] onDisconnect ${client.clientId} ${reason} fence=${fence}`),
    onDelete: (client, reason, { deletionId, redelivered }) =>
      console.log(
        `[${nodeId}] onDelete     ${client.clientId} ${reason} deletion=${deletionId} redelivered=${redelivered}`,
      ),
  },
});
supervisor.cluster$.subscribe((event) => {
  if (event.type === 'nodes-dead') console.log(`[${nodeId}] declared dead: ${event.nodes.join(', ')}`);
  if (event.type === 'fenced' || event.type === 'joined') console.log(`[${nodeId}] ${event.type}`);
});

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page);
  } else if (path === '/api/register' && req.method === 'POST') {
    // a page load is a new client, registered by whichever node served the page
    json(res, { ...(await supervisor.register({ data: { node: nodeId } })), servedBy: nodeId });
  } else if (path === '/api/cluster') {
    const [counts, nodes, clients] = await Promise.all([
      supervisor.counts(),
      supervisor.nodes(),
      supervisor.list({ limit: 200 }),
    ]);
    json(res, { answeredBy: nodeId, counts, nodes, clients });
  } else if (path === '/api/kick' && req.method === 'POST') {
    const clientId = new URL(req.url ?? '/', 'http://localhost').searchParams.get('clientId') ?? '';
    json(res, { deleted: await supervisor.delete(clientId, 'kicked'), by: nodeId });
  } else {
    json(res, { error: 'not found' }, 404);
  }
}

const http = createServer((req, res) => {
  handle(req, res).catch((error: Error & { code?: string }) =>
    json(res, { error: error.message, code: error.code }, 503),
  );
});
const io = new Server(http);
supervisor.attach(io);
io.on('connection', (socket) => socket.emit('demo:node', nodeId));
await new Promise<void>((resolve) => http.listen(Number(port), '127.0.0.1', resolve));
process.send?.({ ready: true });
// the demo runner went away (Ctrl-C, or killed): so does this node
process.on('disconnect', () => process.exit(0));

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  // a rolling-deploy leave: its clients resume on the other nodes
  supervisor.close().then(() => process.exit(0));
});
