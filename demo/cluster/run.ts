// npm run demo:cluster: redis-server on a free port, 3 demo nodes (each a socket.io server with the
// cluster supervisor) and a websocket-aware proxy (http-proxy-3) in front of them. Prints the URLs
// and the nodes' pids; kill one with `kill -9` and watch its clients resume on the others.
//
// No client may take the runner down: the proxy, its sockets and its websocket upgrades all have
// error handlers (a browser that vanishes resets its connections: ECONNRESET). Whatever ends the
// runner (Ctrl-C, SIGTERM, SIGHUP, an uncaught error) stops the nodes and redis-server and removes
// redis-server's data directory.
import { type ChildProcess, fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import { freePort, type RedisServer, startRedisServer } from '../../test/cluster/redisServer.js';

const PORT = Number(process.env.PORT ?? 3000);

let stopping = false;
let redis: RedisServer | undefined;
let proxy: ProxyServer | undefined;
let proxyServer: HttpServer | undefined;
const nodes: DemoNode[] = [];

/** Stops everything this runner started, then exits with `code`. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: nodes, proxy, redis-server');
  const exits = nodes.map((node) => {
    const child = node.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return exited;
  });
  proxyServer?.close();
  proxyServer?.closeAllConnections();
  proxy?.close();
  await Promise.all(exits);
  await redis?.dispose();
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
process.on('uncaughtException', (error) => {
  console.error('cluster demo: uncaught error, stopping:', error);
  void stop(1);
});
process.on('unhandledRejection', (error) => {
  console.error('cluster demo: unhandled rejection, stopping:', error);
  void stop(1);
});
// the last resort, synchronous: whatever exits the process leaves no node, server or directory
process.on('exit', () => {
  for (const node of nodes) node.child?.kill('SIGKILL');
  if (redis) rmSync(redis.dir, { recursive: true, force: true });
});

redis = await startRedisServer({ appendonly: true });
console.log(`redis-server on ${redis.url} (AOF in ${redis.dir})`);

interface DemoNode {
  nodeId: string;
  port: number;
  child: ChildProcess | null;
  /** Until when the proxy skips it after a refused connection. */
  downUntil: number;
}

for (let i = 1; i <= 3; i++) nodes.push({ nodeId: `web-${i}`, port: await freePort(), child: null, downUntil: 0 });

async function startNode(node: DemoNode): Promise<void> {
  const child = fork(new URL('./node.ts', import.meta.url), [redis!.url, node.nodeId, String(node.port)], {
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
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code, signal) =>
      reject(new Error(`${node.nodeId} exited (${signal ?? code}) before it was ready`)),
    );
  });
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

proxy = createProxyServer({ ws: true, xfwd: true });
// http-proxy-3 rethrows an 'error' nobody listens to, and a browser socket that is reset after a
// websocket upgrade (ECONNRESET) is reported here: answer or close that one connection, no more
proxy.on('error', (error: Error & { code?: string }, _req: IncomingMessage, target: ServerResponse | Socket) => {
  console.log(`proxy: ${error.code ?? error.message} on a client connection; closed it`);
  if ('writeHead' in target) {
    if (!target.headersSent) target.writeHead(502, { 'content-type': 'text/plain' });
    target.end('no node answers');
  } else {
    target.destroy();
  }
});
proxyServer = createServer((req, res) => {
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
  // before the proxy has a handler on it: a socket reset right now must not be unhandled
  socket.on('error', () => socket.destroy());
  const node = pick();
  proxy.ws(req, socket, head, { target: `ws://127.0.0.1:${node.port}` }, () => {
    // the node is gone: the browser's socket.io-client reconnects, and lands on another node
    node.downUntil = Date.now() + 3000;
    socket.destroy();
  });
});
await new Promise<void>((resolve, reject) => {
  // a port in use ends the runner (and cleans up) with the listen error
  proxyServer?.once('error', reject).listen(PORT, '127.0.0.1', resolve);
});

console.log(`\ncluster demo: open http://127.0.0.1:${PORT}/ in a few tabs (the proxy spreads them over the nodes)`);
for (const node of nodes) console.log(`  ${node.nodeId}: http://127.0.0.1:${node.port}/  pid ${node.child?.pid}`);
console.log(`\n  kill a node:       kill -9 <pid>        (its clients resume on the others within the grace period)`);
console.log(`  restart the dead:  kill -USR2 ${process.pid}`);
console.log(`  rolling restart:   kill -USR1 ${process.pid}   (each node leaves, no onDelete, and comes back)`);
console.log('  Ctrl-C to stop everything\n');

process.on('SIGUSR2', () => {
  for (const node of nodes)
    if (node.child?.exitCode !== null || node.child.signalCode !== null)
      startNode(node).then(
        () => console.log(`${node.nodeId} restarted, pid ${node.child?.pid}`),
        (error: Error) => console.log(`${node.nodeId} did not restart: ${error.message}`),
      );
});
process.on('SIGUSR1', function rollingRestart() {
  (async () => {
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
  })().catch((error: Error) => console.log(`rolling restart stopped: ${error.message}`));
});
