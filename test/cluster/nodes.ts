import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import {
  type ClusterEvent,
  type ClusterHookContext,
  type ClusterSupervisor,
  type ClusterSupervisorOptions,
  createClusterSupervisor,
} from '../../src/cluster/index.js';
import type { LifecycleEvent } from '../../src/index.js';

/** One hook call as a node saw it. */
export interface HookCall {
  node: string;
  hook: 'onConnect' | 'onDisconnect' | 'onDelete';
  clientId: string;
  detail: string;
  cluster: ClusterHookContext;
}

/** A cluster node in this process: a real socket.io server on loopback with a cluster supervisor attached. */
export interface TestNode {
  nodeId: string;
  url: string;
  supervisor: ClusterSupervisor<unknown>;
  io: Server;
  events: LifecycleEvent[];
  cluster: ClusterEvent[];
  /** Closes the supervisor (a leave), socket.io and the HTTP server. */
  close(): Promise<void>;
}

export async function startNode(
  nodeId: string,
  calls: HookCall[],
  options: Partial<ClusterSupervisorOptions> & Pick<ClusterSupervisorOptions, 'redis'>,
): Promise<TestNode> {
  const http = createServer();
  const io = new Server(http);
  const record =
    (hook: HookCall['hook']) => (client: { clientId: string }, detail: unknown, cluster: ClusterHookContext) =>
      void calls.push({
        node: nodeId,
        hook,
        clientId: client.clientId,
        detail:
          typeof detail === 'string'
            ? detail
            : JSON.stringify({ reconnect: (detail as { reconnect: boolean }).reconnect }),
        cluster,
      });
  const supervisor = await createClusterSupervisor({
    nodeId,
    rateLimit: false,
    heartbeatInterval: 100,
    nodeTtl: 1000,
    pruneInterval: 50,
    reconnectTimeout: 300,
    hooks: { onConnect: record('onConnect'), onDisconnect: record('onDisconnect'), onDelete: record('onDelete') },
    ...options,
  });
  supervisor.attach(io);
  const events: LifecycleEvent[] = [];
  const cluster: ClusterEvent[] = [];
  supervisor.events$.subscribe((event) => events.push(event));
  supervisor.cluster$.subscribe((event) => cluster.push(event));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  let closed = false;
  return {
    nodeId,
    url,
    supervisor,
    io,
    events,
    cluster,
    async close() {
      if (closed) return;
      closed = true;
      await supervisor.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

/** Nodes n1…n`count` on one Redis key prefix, started at once. */
export function startNodes(
  count: number,
  calls: HookCall[],
  options: Partial<ClusterSupervisorOptions> & Pick<ClusterSupervisorOptions, 'redis'>,
): Promise<TestNode[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startNode(`n${i + 1}`, calls, options)));
}

const sockets: ClientSocket[] = [];

/** A socket.io-client socket (websocket, no automatic reconnection) with these credentials. */
export function connect(url: string, auth: Record<string, unknown>): ClientSocket {
  const socket = connectClient(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
  sockets.push(socket);
  return socket;
}

export function closeSockets(): void {
  for (const socket of sockets.splice(0)) socket.disconnect();
}

/** Resolves `connect`, or rejects with the `connect_error` code. */
export function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) =>
      reject(Object.assign(new Error(error.data?.code ?? error.message), { code: error.data?.code })),
    );
  });
}

/** Waits until `condition()` holds (10 s at most; a failure names `what`). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
