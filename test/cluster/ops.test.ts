import pino from 'pino';
import { Subject } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/cluster/clusterEvents.js';
import { logClusterEvents } from '../../src/cluster/logClusterEvents.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode, waitFor } from './nodes.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// A node's logs, health() and close() within closeTimeout, on a real redis-server.

let redis: RedisServer;
let prefix = 0;
const nodes: TestNode[] = [];
const calls: HookCall[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});
afterAll(async () => {
  await redis?.dispose();
});

function pinoLines() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function node(nodeId: string, options: Record<string, unknown> = {}): Promise<TestNode> {
  prefix += 1;
  const started = await startNode(nodeId, calls, { redis: redis.url, keyPrefix: `ops${prefix}`, ...options });
  nodes.push(started);
  return started;
}

describe('a cluster node’s logs', () => {
  it('should log its join, its leave and its close at info, each line bound to the lib and the nodeId', async () => {
    const { logger, lines } = pinoLines();
    const n = await node('web-1', { logger });
    await n.close();
    const info = lines.filter((line) => line.level === 30);
    expect(info.map((line) => line.msg)).toEqual([
      'socket.io-supervisor/cluster: joined as incarnation 1 (start)',
      'socket.io-supervisor/cluster: left, releasing 0 clients',
      // the core's close: a leave deletes nothing
      'socket.io-supervisor: closed',
    ]);
    for (const line of info) expect(line).toMatchObject({ lib: 'socket.io-supervisor', nodeId: 'web-1' });
    expect(info[0]!.event).toMatchObject({ type: 'joined', node: 'web-1', incarnation: 1, why: 'start' });
  });

  it('should log Redis unreachable at warn and back at info; the core’s hook errors carry the nodeId too', async () => {
    const { logger, lines } = pinoLines();
    const n = await node('web-2', {
      logger,
      commandTimeout: 200,
      hooks: {
        onConnect: () => {
          throw new Error('boom');
        },
      },
    });
    const { clientId, token } = await n.supervisor.register();
    await connected(connect(n.url, { clientId, token }));
    await waitFor('the hook error', () => lines.some((line) => line.hook === 'onConnect'));
    expect(lines.find((line) => line.hook === 'onConnect')).toMatchObject({
      level: 50,
      lib: 'socket.io-supervisor',
      nodeId: 'web-2',
      clientId,
      err: { message: 'boom' },
    });
    redis.pause();
    try {
      await waitFor('redis-unavailable', () =>
        lines.some((line) => (line.event as { type?: string })?.type === 'redis-unavailable'),
      );
      expect(n.supervisor.health()).toMatchObject({ ready: false, live: true, node: { redis: 'unavailable' } });
    } finally {
      redis.resume();
    }
    await waitFor('redis-available', () =>
      lines.some((line) => (line.event as { type?: string })?.type === 'redis-available'),
    );
    expect(lines.find((line) => (line.event as { type?: string })?.type === 'redis-unavailable')).toMatchObject({
      level: 40,
      nodeId: 'web-2',
    });
    expect(lines.find((line) => (line.event as { type?: string })?.type === 'redis-available')).toMatchObject({
      level: 30,
    });
    await waitFor('ready again', () => n.supervisor.health().ready);
  });
});

describe('logClusterEvents', () => {
  it('should log each cluster event at its level: joins and leaves info, fences and outages warn, per-client detail debug', () => {
    const { logger, lines } = pinoLines();
    const events = new Subject<ClusterEvent>();
    logClusterEvents(events, logger);
    const at = 0;
    const sent: ClusterEvent[] = [
      { type: 'joined', at, node: 'n', incarnation: 2, why: 'fenced' },
      { type: 'fenced', at, node: 'n', incarnation: 1 },
      { type: 'reset', at },
      { type: 'restored', at, restored: 3, kept: 0, deleted: 0 },
      { type: 'redis-unavailable', at, message: 'timeout' },
      { type: 'redis-available', at, outage: false },
      { type: 'nodes-dead', at, nodes: ['m'], incarnations: [2] },
      { type: 'client-lost', at, clientId: 'c', why: 'replaced' },
      { type: 'deletion-started', at, clientId: 'c', deletionId: 'd', fence: 1, reason: 'manual', redelivered: false },
      { type: 'deletion-completed', at, clientId: 'c', deletionId: 'd', outcome: 'completed' },
      { type: 'left', at, released: 4 },
    ];
    for (const event of sent) events.next(event);
    const level = { 20: 'debug', 30: 'info', 40: 'warn' } as Record<number, string>;
    expect(lines.map((line) => [(line.event as ClusterEvent).type, level[line.level as number]])).toEqual([
      ['joined', 'info'],
      ['fenced', 'warn'],
      ['reset', 'warn'],
      ['restored', 'info'],
      ['redis-unavailable', 'warn'],
      ['redis-available', 'info'],
      ['nodes-dead', 'info'],
      ['client-lost', 'debug'],
      ['deletion-started', 'debug'],
      ['deletion-completed', 'debug'],
      ['left', 'info'],
    ]);
    expect(lines[1]!.msg).toBe('socket.io-supervisor/cluster: fenced: incarnation 1 was declared dead');
  });
});

describe('a cluster node’s health()', () => {
  it('should answer ready with the node’s id, incarnation and Redis, and not ready once closing', async () => {
    const n = await node('web-3');
    expect(n.supervisor.health()).toEqual({
      ready: true,
      live: true,
      closing: false,
      clients: { handshaking: 0, connected: 0, disconnected: 0, total: 0 },
      pendingHooks: 0,
      node: {
        nodeId: 'web-3',
        incarnation: 1,
        joined: true,
        state: 'serving',
        leaseLeft: expect.any(Number),
        redis: 'ok',
      },
    });
    // the lease: at most nodeTtl (1000 ms) less the drift and late-timer bounds, counted from a heartbeat's send
    expect(n.supervisor.health().node.leaseLeft).toBeGreaterThan(0);
    expect(n.supervisor.health().node.leaseLeft).toBeLessThanOrEqual(940);
    const closed = n.supervisor.close();
    expect(n.supervisor.health()).toMatchObject({ ready: false, closing: true });
    await closed;
    expect(n.supervisor.health()).toMatchObject({ ready: false, live: false });
  });
});

describe('a cluster node whose lease runs out', () => {
  it('should log lease-lost at warn, report itself not serving with no lease left, and serve again once Redis answers', async () => {
    const { logger, lines } = pinoLines();
    const n = await node('web-lease', { logger, commandTimeout: 200 });
    const typeOf = (line: Record<string, unknown>) => (line.event as { type?: string } | undefined)?.type;
    redis.pause();
    let during: ReturnType<typeof n.supervisor.health>;
    try {
      await waitFor('lease-lost', () => lines.some((line) => typeOf(line) === 'lease-lost'));
      during = n.supervisor.health();
    } finally {
      redis.resume();
    }
    expect(lines.find((line) => typeOf(line) === 'lease-lost')).toMatchObject({ level: 40, nodeId: 'web-lease' });
    expect(during).toMatchObject({ ready: false, live: true, node: { leaseLeft: 0, joined: false } });
    expect(['fenced', 'rejoining']).toContain(during.node.state);
    await waitFor('serving again', () => n.supervisor.health().node.state === 'serving');
    expect(n.supervisor.health()).toMatchObject({ ready: true, node: { incarnation: 2, redis: 'ok' } });
    expect(n.supervisor.health().node.leaseLeft).toBeGreaterThan(0);
  });
});

describe('a cluster node’s close()', () => {
  it('should finish within closeTimeout although a hook never settles', async () => {
    const n = await node('web-4', {
      hookTimeout: 600_000,
      closeTimeout: 1500,
      hooks: { onConnect: () => new Promise(() => {}) },
    });
    const { clientId, token } = await n.supervisor.register();
    await connected(connect(n.url, { clientId, token }));
    await waitFor('the hook running', () => n.supervisor.health().pendingHooks === 1);
    const reported = new Promise((resolve) =>
      n.supervisor.events$.subscribe((event) => event.type === 'hook-error' && resolve(event)),
    );
    const started = performance.now();
    await n.supervisor.close();
    const took = performance.now() - started;
    expect(took).toBeLessThan(1500 + 500);
    expect(await reported).toMatchObject({ clientId, hook: 'onConnect', timedOut: true });
    // the client lives on in Redis (a leave), for another node to take
    expect(n.supervisor.health().closing).toBe(true);
  });
});
