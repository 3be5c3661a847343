// npm run demo:cluster: redis-server on a free port, 3 demo nodes (each a socket.io server with the
// cluster supervisor) and a websocket-aware proxy (http-proxy-3) in front of them. Prints the URLs
// and the nodes' pids; kill one with `kill -9` and watch its clients resume on the others.
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import { freePort, startRedisServer } from '../../test/cluster/redisServer.js';

const PORT = Number(process.env.PORT ?? 3000);
const redis = await startRedisServer({ appendonly: true });
console.log(`redis-server on ${redis.url} (AOF in ${redis.dir})`);

interface DemoNode {
  nodeId: string;
  port: number;
  child: ChildProcess | null;
  /** Until when the proxy skips it after a refused connection. */
  downUntil: number;
}

const nodes: DemoNode[] = [];
for (let i = 1; i <= 3; i++) nodes.push({ nodeId: `web-${i}`, port: await freePort(), child: null, downUntil: 0 });

async function startNode(node: DemoNode): Promise<void> {
  const child = fork(new URL('./node.ts', import.meta.url), [redis.url, node.nodeId, String(node.port)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  node.child = child;
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.log(
      `${node.nodeId} (pid ${child.pid}) exited (${signal ?? code}); restart it with: kill -USR2 ${process.pid}`,
    );
  });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  node.downUntil = 0;
}

await Promise.all(nodes.map(startNode));

// round-robin over the nodes that answer; one that refused a connection is skipped for a while
let next = 0;
function pick(): DemoNode {
  const now = Date.now();
  for (let tries = 0; tries < nodes.length; tries++) {
    const node = nodes[next++ % nodes.length]!;
    if (node.downUntil <= now) return node;
  }
  return nodes[next++ % nodes.length]!;
}

const proxy = createProxyServer({ ws: true, xfwd: true });
const proxyServer = createServer((req, res) => {
  // the demo's requests carry no body, so one refused by a dead node can go to the next
  const attempt = (left: number): void => {
    const node = pick();
    proxy.web(req, res, { target: `http://127.0.0.1:${node.port}` }, () => {
      node.downUntil = Date.now() + 3000;
      if (left > 1 && !res.headersSent) return attempt(left - 1);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('no node answers');
    });
  };
  attempt(nodes.length);
});
proxyServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
  const node = pick();
  proxy.ws(req, socket, head, { target: `ws://127.0.0.1:${node.port}` }, () => {
    // the node is gone: the browser's socket.io-client reconnects, and lands on another node
    node.downUntil = Date.now() + 3000;
    socket.destroy();
  });
});
await new Promise<void>((resolve) => proxyServer.listen(PORT, '127.0.0.1', resolve));

console.log(`\ncluster demo: open http://127.0.0.1:${PORT}/ in a few tabs (the proxy spreads them over the nodes)`);
for (const node of nodes) console.log(`  ${node.nodeId}: http://127.0.0.1:${node.port}/  pid ${node.child?.pid}`);
console.log(`\n  kill a node:       kill -9 <pid>        (its clients resume on the others within the grace period)`);
console.log(`  restart the dead:  kill -USR2 ${process.pid}`);
console.log(`  rolling restart:   kill -USR1 ${process.pid}   (each node leaves, no onDelete, and comes back)`);
console.log('  Ctrl-C to stop everything\n');

process.on('SIGUSR2', () => {
  for (const node of nodes)
    if (node.child?.exitCode !== null || node.child.signalCode !== null)
      void startNode(node).then(() => console.log(`${node.nodeId} restarted, pid ${node.child?.pid}`));
});
process.on('SIGUSR1', async () => {
  for (const node of nodes) {
    const child = node.child;
    if (!child || child.exitCode !== null) continue;
    console.log(`rolling restart: ${node.nodeId} leaves`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await startNode(node);
    console.log(`rolling restart: ${node.nodeId} back, pid ${node.child?.pid}`);
  }
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: nodes, proxy, redis-server');
  for (const node of nodes) node.child?.kill('SIGKILL');
  proxyServer.close();
  proxy.close();
  await redis.dispose();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
