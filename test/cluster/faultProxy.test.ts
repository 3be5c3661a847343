import { createConnection, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './procs/faultProxy.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// The fault proxy against a real redis-server, through raw RESP over TCP (no client library that
// could retry, queue or time out on its own): what each mode lets through, when, and in what order.

let redis: RedisServer;
let proxy: FaultProxy;
const open: Socket[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const socket of open.splice(0)) socket.destroy();
  await proxy?.close();
});
afterAll(async () => {
  await redis?.dispose();
});

/** A raw RESP connection: inline commands out, simple replies (`+`, `-`, `:`, `$`) parsed in. */
function raw(port: number) {
  const socket = createConnection({ port, host: '127.0.0.1' });
  open.push(socket);
  const replies: Array<{ reply: string; at: number }> = [];
  let buffer = '';
  let ended: string | null = null;
  socket.on('error', (error: NodeJS.ErrnoException) => {
    ended ??= error.code ?? error.message;
  });
  socket.on('close', () => {
    ended ??= 'close';
  });
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    for (;;) {
      const line = buffer.indexOf('\r\n');
      if (line === -1) return;
      const head = buffer.slice(0, line);
      if (head.startsWith('$')) {
        const length = Number(head.slice(1));
        if (length < 0) {
          replies.push({ reply: '(nil)', at: performance.now() });
          buffer = buffer.slice(line + 2);
          continue;
        }
        if (buffer.length < line + 2 + length + 2) return;
        replies.push({ reply: buffer.slice(line + 2, line + 2 + length), at: performance.now() });
        buffer = buffer.slice(line + 2 + length + 2);
      } else {
        replies.push({ reply: head, at: performance.now() });
        buffer = buffer.slice(line + 2);
      }
    }
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    socket,
    connected,
    replies,
    get ended() {
      return ended;
    },
    send(...lines: string[]): number {
      const at = performance.now();
      for (const line of lines) socket.write(`${line}\r\n`);
      return at;
    },
    /** Resolves with the first `count` replies, or rejects after `within` ms. */
    async next(count: number, within = 5000): Promise<string[]> {
      const deadline = Date.now() + within;
      while (replies.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${replies.length} of ${count} replies in ${within} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return replies.slice(0, count).map((r) => r.reply);
    },
  };
}

/** The value of a key, read straight from Redis (not through the proxy). */
async function direct(command: string): Promise<string> {
  const client = raw(redis.port);
  await client.connected;
  client.send(command);
  const [reply] = await client.next(1);
  client.socket.destroy();
  return reply!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let keyCounter = 0;
const freshKey = () => `proxy-test-${++keyCounter}`;

/** Waits until `condition()` holds, at most `within` ms. */
async function until(what: string, condition: () => boolean | Promise<boolean>, within = 5000): Promise<void> {
  const deadline = Date.now() + within;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('fault proxy between a client and redis-server', () => {
  it('should forward in pass mode, for several connections at once, each its own replies', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`);
    const clients = Array.from({ length: 5 }, () => raw(proxy.port));
    for (const [i, client] of clients.entries()) client.send('PING', `ECHO c${i}`);
    for (const [i, client] of clients.entries()) expect(await client.next(2)).toEqual(['+PONG', `c${i}`]);
    expect(proxy.connections()).toBe(5);
    expect(proxy.stats()).toMatchObject({ accepted: 5, reset: 0, keptBytes: 0 });
  });

  it('should keep connections open and forward nothing either way in blackhole, then deliver it all in order', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const client = raw(proxy.port);
    client.send('PING');
    expect(await client.next(1)).toEqual(['+PONG']);
    const key = freshKey();
    proxy.blackhole();
    client.send(`INCR ${key}`, `INCR ${key}`, 'PING');
    // nothing reached Redis, nothing came back, nothing was closed
    await sleep(300);
    expect(await direct(`GET ${key}`)).toBe('(nil)');
    expect(client.replies).toHaveLength(1);
    expect(client.ended).toBeNull();
    expect(proxy.stats().keptBytes).toBeGreaterThan(0);
    proxy.pass();
    expect(await client.next(4)).toEqual(['+PONG', ':1', ':2', '+PONG']);
    expect(await direct(`GET ${key}`)).toBe('2');
    expect(proxy.stats().keptBytes).toBe(0);
  });

  it('should blackhole replies already on their way: a command sent before the partition gets no answer during it', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const client = raw(proxy.port);
    client.send('PING');
    await client.next(1);
    const key = freshKey();
    // Redis runs it, its reply is kept in the proxy when the partition starts
    proxy.hold();
    client.send(`INCR ${key}`);
    await until('the command ran in Redis', async () => (await direct(`GET ${key}`)) === '1');
    proxy.blackhole();
    client.send('PING');
    await sleep(300);
    expect(await direct(`GET ${key}`)).toBe('1');
    expect(client.replies).toHaveLength(1);
    proxy.pass();
    expect(await client.next(3)).toEqual(['+PONG', ':1', '+PONG']);
  });

  it('should forward every chunk ms late each way in delay mode, in order', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const client = raw(proxy.port);
    await client.connected;
    client.send('PING');
    await client.next(1);
    proxy.delay(250);
    const sent = client.send('PING', 'ECHO a');
    const sentB = client.send('ECHO b');
    expect(await client.next(4)).toEqual(['+PONG', '+PONG', 'a', 'b']);
    // 250 ms to Redis and 250 ms back (a lower bound: a loaded machine only adds to it)
    expect(client.replies[1]!.at - sent).toBeGreaterThanOrEqual(480);
    expect(client.replies[3]!.at - sentB).toBeGreaterThanOrEqual(480);
    proxy.pass();
    client.send('ECHO c');
    expect((await client.next(5))[4]).toBe('c');
  });

  it('should run commands but hold their replies in hold mode until release()', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const a = raw(proxy.port);
    const b = raw(proxy.port);
    a.send('PING');
    b.send('PING');
    await Promise.all([a.next(1), b.next(1)]);
    const key = freshKey();
    proxy.hold();
    a.send(`INCR ${key}`, 'ECHO a');
    b.send(`INCR ${key}`, 'ECHO b');
    // both ran in Redis, neither reply came back
    await until('both commands ran', async () => (await direct(`GET ${key}`)) === '2');
    await sleep(200);
    expect([a.replies.length, b.replies.length]).toEqual([1, 1]);
    expect(a.ended).toBeNull();
    proxy.release();
    expect(proxy.mode).toBe('pass');
    const [ra, rb] = [await a.next(3), await b.next(3)];
    expect([ra[2], rb[2]]).toEqual(['a', 'b']);
    expect(new Set([ra[1], rb[1]])).toEqual(new Set([':1', ':2']));
  });

  it('should reset open connections and refuse new ones in reset mode, and accept them again after pass()', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const before = raw(proxy.port);
    before.send('PING');
    await before.next(1);
    proxy.reset();
    await until('the open connection reset', () => before.ended !== null);
    expect(before.ended).toBe('ECONNRESET');
    const refused = raw(proxy.port);
    refused.send('PING');
    await until('the new connection reset', () => refused.ended !== null);
    expect(refused.ended).toMatch(/ECONNRESET|close|EPIPE/);
    expect(refused.replies).toEqual([]);
    expect(proxy.connections()).toBe(0);
    expect(proxy.stats().reset).toBeGreaterThanOrEqual(2);
    proxy.pass();
    const after = raw(proxy.port);
    after.send('PING');
    expect(await after.next(1)).toEqual(['+PONG']);
  });

  it('should survive clients and Redis closing or resetting under it, in any mode, without throwing', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    for (const mode of ['pass', 'blackhole', 'hold', 'delay'] as const) {
      if (mode === 'delay') proxy.delay(50);
      else proxy[mode]();
      const rude = raw(proxy.port);
      await rude.connected;
      rude.send('PING');
      rude.socket.resetAndDestroy();
      const polite = raw(proxy.port);
      await polite.connected;
      polite.send('PING');
      polite.socket.end();
    }
    // Redis itself closes a connection (QUIT) while its reply is still on the way
    proxy.pass();
    const quitting = raw(proxy.port);
    quitting.send('QUIT');
    await until('Redis closed it', () => quitting.ended !== null);
    await until('the proxy let every connection go', () => proxy.connections() === 0);
    const client = raw(proxy.port);
    client.send('PING');
    expect(await client.next(1)).toEqual(['+PONG']);
  });

  it('should close a client connection whose Redis is gone, and close cleanly with connections held', async () => {
    const server = await startRedisServer();
    try {
      proxy = await startFaultProxy({ port: server.port });
      const client = raw(proxy.port);
      client.send('PING');
      await client.next(1);
      await server.stop('SIGKILL');
      await until('the connection closed', () => client.ended !== null);
      // nothing listens there now: the connection is accepted, then closed
      const late = raw(proxy.port);
      late.send('PING');
      await until('the late connection closed', () => late.ended !== null);
      expect(late.replies).toEqual([]);
    } finally {
      await server.dispose();
    }
    const second = await startFaultProxy({ port: redis.port });
    const held = raw(second.port);
    await held.connected;
    second.hold();
    held.send('PING');
    await until('the proxy connected to Redis', () => second.connections() === 1);
    await second.close();
    await until('the held connection closed', () => held.ended !== null);
    expect(second.connections()).toBe(0);
  });
});
