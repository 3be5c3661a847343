import { createConnection, createServer, type Socket } from 'node:net';

/**
 * What a {@link FaultProxy} does with the bytes of every connection it carries, switchable at any
 * time (the change applies to the connections already open and to new ones):
 *
 * - `pass`: forwards each chunk at once, both ways.
 * - `blackhole`: a partition TCP does not notice: every connection stays open, nothing is
 *   forwarded either way. The bytes are kept, in order, and delivered when the mode changes back
 *   (as TCP delivers its retransmissions once the network heals). They are never dropped: dropping
 *   part of a stream is something TCP cannot do without closing it, and it would leave the Redis
 *   protocol out of step (a reply matched to the wrong command); a partition long enough for TCP to
 *   give up is `reset`.
 * - `delay`: each chunk, each way, is forwarded `ms` after it arrived (order kept).
 * - `hold`: client → server is forwarded, server → client is kept until {@link FaultProxy.release}:
 *   the command runs in Redis, its reply arrives late (after the node's `commandTimeout`, say).
 * - `reset`: every open connection is reset (RST: the client sees `ECONNRESET`), and every new one
 *   is accepted and reset at once, until the mode changes.
 */
export type FaultMode = 'pass' | 'blackhole' | 'delay' | 'hold' | 'reset';

/** A TCP proxy between one node process and redis-server, to make the network between them fail on demand. */
export interface FaultProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`: what the node is given instead of Redis's own URL. */
  readonly url: string;
  readonly mode: FaultMode;
  /** Forwards everything again, first what `blackhole`, `delay` or `hold` kept (in order). */
  pass(): void;
  blackhole(): void;
  delay(ms: number): void;
  hold(): void;
  /** Ends a `hold` (or any other mode): the kept replies go out, in order, then everything passes. */
  release(): void;
  reset(): void;
  /** Connections open now (each one a client socket and its socket to Redis). */
  connections(): number;
  /** Counters since the start: connections accepted, connections reset, bytes kept right now. */
  stats(): { accepted: number; reset: number; keptBytes: number };
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

/** One direction of one connection: chunks waiting to be written, in arrival order. */
interface Lane {
  queue: Array<{ chunk: Buffer; due: number }>;
  lastDue: number;
  timer: NodeJS.Timeout | null;
  to: Socket;
}

interface Link {
  inbound: Socket;
  outbound: Socket;
  up: Lane;
  down: Lane;
}

const destroy = (socket: Socket, reset: boolean): void => {
  if (socket.destroyed) return;
  // resetAndDestroy() sends RST on a connected socket; on one still connecting it only destroys
  if (reset && !socket.connecting) socket.resetAndDestroy();
  else socket.destroy();
};

export async function startFaultProxy(target: { port: number; host?: string }): Promise<FaultProxy> {
  const host = target.host ?? '127.0.0.1';
  const links = new Set<Link>();
  let mode: FaultMode = 'pass';
  let delayMs = 0;
  let accepted = 0;
  let resets = 0;
  let closed = false;

  /** Whether a lane may write now: `up` is client → server, `down` server → client. */
  const open = (lane: 'up' | 'down'): boolean =>
    mode === 'pass' || mode === 'delay' || (mode === 'hold' && lane === 'up');

  function pump(link: Link, which: 'up' | 'down'): void {
    const lane = link[which];
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = null;
    }
    if (!open(which)) return;
    const now = performance.now();
    while (lane.queue.length > 0) {
      const head = lane.queue[0]!;
      if (head.due > now) {
        lane.timer = setTimeout(() => pump(link, which), head.due - now);
        return;
      }
      lane.queue.shift();
      if (!lane.to.destroyed) lane.to.write(head.chunk);
    }
  }

  function enqueue(link: Link, which: 'up' | 'down', chunk: Buffer): void {
    const lane = link[which];
    // never before an earlier chunk of the same lane, whatever the delay was when it came
    const due = Math.max(performance.now() + (mode === 'delay' ? delayMs : 0), lane.lastDue);
    lane.lastDue = due;
    lane.queue.push({ chunk, due });
    pump(link, which);
  }

  function drop(link: Link, reset: boolean): void {
    if (!links.delete(link)) return;
    for (const lane of [link.up, link.down]) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      lane.queue.length = 0;
    }
    destroy(link.inbound, reset);
    destroy(link.outbound, reset);
  }

  const server = createServer((inbound) => {
    // an error on either socket (ECONNRESET, EPIPE, ECONNREFUSED from Redis) closes the pair
    inbound.on('error', () => {});
    if (mode === 'reset' || closed) {
      resets += 1;
      destroy(inbound, true);
      return;
    }
    accepted += 1;
    inbound.setNoDelay(true);
    const outbound = createConnection({ port: target.port, host });
    outbound.on('error', () => {});
    outbound.setNoDelay(true);
    const lane = (to: Socket): Lane => ({ queue: [], lastDue: 0, timer: null, to });
    const link: Link = { inbound, outbound, up: lane(outbound), down: lane(inbound) };
    links.add(link);
    inbound.on('data', (chunk: Buffer) => enqueue(link, 'up', chunk));
    outbound.on('data', (chunk: Buffer) => enqueue(link, 'down', chunk));
    inbound.on('close', () => drop(link, false));
    outbound.on('close', () => drop(link, false));
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  function switchTo(next: FaultMode, ms = 0): void {
    mode = next;
    delayMs = ms;
    if (next === 'reset') {
      for (const link of [...links]) {
        resets += 1;
        drop(link, true);
      }
      return;
    }
    for (const link of links) {
      pump(link, 'up');
      pump(link, 'down');
    }
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    pass: () => switchTo('pass'),
    blackhole: () => switchTo('blackhole'),
    delay(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay(${ms}): a number of ms ≥ 0`);
      switchTo('delay', ms);
    },
    hold: () => switchTo('hold'),
    release: () => switchTo('pass'),
    reset: () => switchTo('reset'),
    connections: () => links.size,
    stats: () => ({
      accepted,
      reset: resets,
      keptBytes: [...links].reduce(
        (sum, link) => sum + [...link.up.queue, ...link.down.queue].reduce((n, q) => n + q.chunk.length, 0),
        0,
      ),
    }),
    close() {
      closed = true;
      for (const link of [...links]) drop(link, true);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
