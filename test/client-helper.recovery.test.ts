import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage, type SupervisedDetail, type SupervisedState, supervise } from '../src/client/index.js';
import type { SupervisorOptions } from '../src/core/options.js';
import { createSupervisor, type LifecycleEvent, type Supervisor } from '../src/index.js';

// The browser helper after what ends a client: a server restart, an outage longer than the grace
// period, a full server. Real servers on loopback (restarted on the same port), real
// socket.io-client sockets with short backoffs.

interface Node {
  http: HttpServer;
  io: Server;
  supervisor: Supervisor;
  port: number;
  /** Codes of the handshakes this server rejected, in order. */
  rejected: string[];
}

let nodes: Node[] = [];
let pages: ClientSocket[] = [];
afterEach(async () => {
  for (const socket of pages) socket.disconnect();
  for (const node of nodes) {
    await node.supervisor.close();
    node.http.closeAllConnections();
    await new Promise<void>((resolve) => node.io.close(() => resolve()));
  }
  nodes = [];
  pages = [];
});

async function startNode(options: SupervisorOptions = {}, port = 0): Promise<Node> {
  const http = createServer();
  const io = new Server(http);
  const supervisor = createSupervisor({ pruneInterval: 0, rateLimit: false, ...options });
  supervisor.attach(io);
  const rejected: string[] = [];
  supervisor.events$.subscribe((event: LifecycleEvent) => {
    if (event.type === 'rejected') rejected.push(event.code);
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const node = { http, io, supervisor, port: (http.address() as AddressInfo).port, rejected };
  nodes.push(node);
  return node;
}

/** The process dies without a goodbye: no close(), the listener goes, every connection is cut. */
function crash(node: Node): void {
  node.http.close();
  node.io.engine.close();
}

function page(node: Node, options: Parameters<typeof supervise>[1] = {}) {
  const socket = connectClient(`http://127.0.0.1:${node.port}`, {
    autoConnect: false,
    forceNew: true,
    transports: ['websocket'],
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
  });
  pages.push(socket);
  const client = supervise(socket, { storage: memoryStorage(), ...options });
  const seen: Array<{ state: SupervisedState; detail: SupervisedDetail }> = [];
  client.subscribe((state, detail) => seen.push({ state, detail }));
  socket.connect();
  return { socket, client, seen };
}

function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 5);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('browser helper: when the client is gone', () => {
  it('should end in deleted with UNKNOWN_CLIENT and the server message after a restart, sending no retry that can only fail', async () => {
    const before = await startNode();
    const credentials = before.supervisor.register();
    const p = page(before, { credentials });
    await until(() => p.client.state === 'connected', 'connected');
    crash(before);
    await until(() => p.client.state === 'reconnecting', 'reconnecting');
    const after = await startNode({}, before.port);
    await until(() => p.client.state === 'deleted', 'deleted');
    expect(p.client.detail).toEqual({ code: 'UNKNOWN_CLIENT', message: expect.stringContaining(credentials.clientId) });
    // it stays there: no attempt without credentials (INVALID_HANDSHAKE), no loop
    await pause(500);
    expect(p.client.state).toBe('deleted');
    expect(after.rejected).toEqual(['UNKNOWN_CLIENT']);
    expect(p.socket.connected).toBe(false);
  });

  it('should end in deleted with CLIENT_DELETED and "reload the page" when the client outlived its grace period offline', async () => {
    const node = await startNode({ reconnectTimeout: 60_000 });
    const credentials = node.supervisor.register();
    const p = page(node, { credentials });
    await until(() => p.client.state === 'connected', 'connected');
    // the network drops; before the page is back its client is deleted (here at once)
    node.io.of('/').sockets.get(node.supervisor.get(credentials.clientId)!.socketId!)!.conn.close();
    await until(() => p.client.state === 'reconnecting', 'reconnecting');
    node.supervisor.delete(credentials.clientId, 'reconnect-timeout');
    await until(() => p.client.state === 'deleted', 'deleted');
    expect(p.client.detail).toEqual({ code: 'CLIENT_DELETED', message: expect.stringMatching(/reload the page/) });
    expect(p.client.clientId).toBeNull();
    await pause(500);
    expect(p.client.state).toBe('deleted');
    expect(node.rejected).toEqual(['CLIENT_DELETED']);
    // the subscriber saw the code and the sentence with the state
    expect(p.seen.at(-1)).toEqual({ state: 'deleted', detail: p.client.detail });
  });

  it('should come back as a new client after a restart when the server handed this page its credentials (autoRegister)', async () => {
    const before = await startNode({ autoRegister: true });
    const p = page(before);
    await until(() => p.client.state === 'connected' && p.client.clientId !== null, 'connected');
    const first = p.client.clientId!;
    crash(before);
    await until(() => p.client.state === 'reconnecting', 'reconnecting');
    const after = await startNode({ autoRegister: true }, before.port);
    await until(() => p.client.state === 'connected' && p.client.clientId !== first, 'a new client');
    expect(p.seen.map((s) => s.state)).toContain('deleted');
    expect(after.rejected).toEqual(['UNKNOWN_CLIENT']);
    expect(after.supervisor.get(p.client.clientId!)?.state).toBe('connected');
  });

  it('should come back as a new client after a graceful restart of an autoRegister server', async () => {
    const before = await startNode({ autoRegister: true });
    const p = page(before);
    await until(() => p.client.state === 'connected' && p.client.clientId !== null, 'connected');
    const first = p.client.clientId!;
    await before.supervisor.close(); // every client deleted (shutdown), each socket told and closed
    await until(() => p.seen.some((s) => s.state === 'deleted'), 'deleted');
    before.http.closeAllConnections();
    await new Promise<void>((resolve) => before.io.close(() => resolve()));
    nodes = nodes.filter((node) => node !== before);
    const after = await startNode({ autoRegister: true }, before.port);
    await until(() => p.client.state === 'connected' && p.client.clientId !== first, 'a new client');
    expect(after.supervisor.get(p.client.clientId!)?.state).toBe('connected');
  });

  it('should stay deleted after a server-side delete when its credentials were rendered by the server', async () => {
    const node = await startNode();
    const credentials = node.supervisor.register();
    const p = page(node, { credentials });
    await until(() => p.client.state === 'connected', 'connected');
    node.supervisor.delete(credentials.clientId, 'kicked');
    await until(() => p.client.state === 'deleted', 'deleted');
    expect(p.client.detail).toMatchObject({ code: 'CLIENT_DELETED' });
    await pause(400);
    expect(p.client.state).toBe('deleted');
    expect(node.rejected).toEqual([]);
  });
});

describe('browser helper: when the server says later', () => {
  it('should retry a CLIENT_LIMIT with backoff and connect once there is room', async () => {
    const node = await startNode({ autoRegister: true, maxClients: 1 });
    const occupant = node.supervisor.register();
    const p = page(node);
    // two refusals seen by the page: the first, and the helper's own retry
    const refusals = () => p.seen.filter((s) => s.detail.code === 'CLIENT_LIMIT').length;
    await until(() => refusals() >= 2, 'two refusals');
    expect(p.client.state).toBe('connecting');
    expect(p.client.detail).toEqual({ code: 'CLIENT_LIMIT', message: expect.any(String) });
    node.supervisor.delete(occupant.clientId);
    await until(() => p.client.state === 'connected', 'connected');
    expect(node.rejected.every((code) => code === 'CLIENT_LIMIT')).toBe(true);
  });

  it('should stop with the server sentence when the credentials are refused for good', async () => {
    const node = await startNode();
    const p = page(node); // no credentials, and the server does not auto-register
    await until(() => p.client.state === 'deleted', 'deleted');
    expect(p.client.detail).toEqual({ code: 'INVALID_HANDSHAKE', message: expect.stringMatching(/autoRegister/) });
    await pause(400);
    expect(node.rejected).toEqual(['INVALID_HANDSHAKE']);
  });
});
