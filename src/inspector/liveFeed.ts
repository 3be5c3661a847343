import type { Subscription } from 'rxjs';
import type { Namespace, Socket } from 'socket.io';
import type { Inspectable, InspectedClient } from '../core/inspectable.js';
import type { LifecycleEvent, Logger } from '../core/types.js';
import { recordingToTest } from '../testing/recordingToTest.js';
import { type ClientRow, clientRow, type RowOptions } from './clientRow.js';
import { type ChartModel, statechartModel } from './statechart.js';
import { parseDelete, parseExport, parsePrune, splitArgs } from './viewerMessages.js';

export interface LiveFeedOptions {
  source: Inspectable;
  nsp: Namespace;
  chart: ChartModel;
  rows: RowOptions;
  allowWrites: boolean;
  flushInterval: number;
  maxBuffered: number;
  /** Cluster mode: how often the whole cluster's clients are read again from Redis. */
  refreshInterval: number;
  logger: Logger;
}

export interface LiveFeed {
  /** Everything a new viewer starts from (also served as `state.json`). */
  snapshot(): Promise<object>;
  close(): void;
}

const READ_ONLY = 'this inspector is read-only (mount it with allowWrites: true)';

/** What tells a client row's change without comparing its data: the fields the table shows. */
function signature(client: InspectedClient): string {
  return `${client.state}|${client.socketId}|${client.expiresAt}|${client.outbox.depth}|${client.node ?? ''}|${client.fence ?? ''}`;
}

/**
 * The inspector's live data: lifecycle events batched every `flushInterval` to the viewers of
 * its namespace, a snapshot for each new viewer, and the viewers' `delete`, `prune` and `export`
 * requests. It reads the supervisor through its {@link Inspectable}: at once for a single
 * process; by promises from Redis for a cluster node, whose rows (every node's clients) are also
 * read again every `refreshInterval`, since other nodes' changes come through Redis, not this
 * process's events.
 */
export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const { source, nsp, allowWrites, maxBuffered, logger } = options;
  let pending: LifecycleEvent[] = [];
  let dropped = 0;
  const recent: LifecycleEvent[] = [];
  const touched = new Set<string>();
  const stale = new WeakSet<Socket>();
  /** Cluster mode: what each row looked like at the last refresh. */
  let known = new Map<string, string>();
  let lastRefresh = 0;
  let flushing = false;
  const row = (client: InspectedClient): ClientRow => clientRow(client, options.rows);
  /** Cluster mode: the node machine's chart (drawn once per viewer) and its state. */
  const nodeChart = source.nodeMachine ? statechartModel(source.nodeMachine.machine) : null;
  const nodeLife = () => (nodeChart && source.nodeMachine ? { nodeChart, nodeState: source.nodeMachine.state() } : {});

  async function snapshot() {
    const [clients, counts, nodes] = await Promise.all([source.list(), source.counts(), source.nodes()]);
    if (source.cluster) known = new Map(clients.map((client) => [client.clientId, signature(client)]));
    return {
      serverNow: source.now(),
      cluster: source.cluster,
      nodeId: source.nodeId,
      clients: clients.map(row),
      counts,
      nodes,
      stats: source.stats(),
      options: source.settings,
      chart: options.chart,
      ...nodeLife(),
      allowWrites,
      recent,
    };
  }

  const subscription: Subscription = source.events$.subscribe(function bufferEvent(event) {
    pending.push(event);
    if (pending.length > maxBuffered) {
      pending.shift();
      dropped += 1;
    }
    recent.push(event);
    if (recent.length > maxBuffered) recent.shift();
    if (event.clientId) touched.add(event.clientId);
  });

  /** The rows that changed: the clients this process's events touched, and in cluster mode a periodic diff of the whole list. */
  async function changes(): Promise<{ changed: ClientRow[]; removed: string[] }> {
    const changed: ClientRow[] = [];
    const removed: string[] = [];
    if (source.cluster && source.now() - lastRefresh >= options.refreshInterval) {
      lastRefresh = source.now();
      const clients = await source.list();
      const next = new Map<string, string>();
      for (const client of clients) {
        const sig = signature(client);
        next.set(client.clientId, sig);
        if (known.get(client.clientId) !== sig || touched.has(client.clientId)) changed.push(row(client));
      }
      for (const clientId of known.keys()) if (!next.has(clientId)) removed.push(clientId);
      known = next;
      return { changed, removed };
    }
    const views = await Promise.all(
      [...touched].map(async (clientId) => [clientId, await source.get(clientId)] as const),
    );
    for (const [clientId, view] of views) {
      if (view) {
        changed.push(row(view));
        if (source.cluster) known.set(clientId, signature(view));
      } else {
        removed.push(clientId);
        known.delete(clientId);
      }
    }
    return { changed, removed };
  }

  async function flush(): Promise<void> {
    const due = source.cluster && source.now() - lastRefresh >= options.refreshInterval;
    if (pending.length === 0 && touched.size === 0 && !due) return;
    if (nsp.sockets.size === 0) {
      // nobody watching: nothing to build; a viewer that comes starts from a snapshot anyway
      pending = [];
      dropped = 0;
      touched.clear();
      return;
    }
    const events = pending;
    const lost = dropped;
    pending = [];
    dropped = 0;
    const { changed, removed } = await changes();
    touched.clear();
    const update = {
      serverNow: source.now(),
      events,
      changed,
      removed,
      counts: await source.counts(),
      nodes: source.cluster ? await source.nodes() : [],
      ...(source.nodeMachine ? { nodeState: source.nodeMachine.state() } : {}),
      stats: source.stats(),
      dropped: lost,
    };
    for (const socket of nsp.sockets.values()) {
      // a viewer that cannot keep up gets no more batches; once its buffer drains it gets a
      // fresh snapshot instead, so memory stays bounded whatever the viewer's speed
      const backlog = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
      if (backlog > 16) {
        stale.add(socket);
        continue;
      }
      if (stale.has(socket)) {
        stale.delete(socket);
        socket.emit('snapshot', await snapshot());
      } else {
        socket.emit('update', update);
      }
    }
  }

  const timer = setInterval(function flushSafely() {
    // one batch at a time: in cluster mode a batch waits for Redis
    if (flushing) return;
    flushing = true;
    flush()
      .catch((error: unknown) => {
        // a timer callback that throws is fatal to the process; a lost batch is not
        logger.warn({ err: error }, 'socket.io-supervisor inspector: a batch to viewers failed');
      })
      .finally(() => {
        flushing = false;
      });
  }, options.flushInterval);
  timer.unref?.();

  async function onDelete(...args: unknown[]): Promise<void> {
    const { payload, ack } = splitArgs(args);
    if (!allowWrites) return void ack?.({ error: READ_ONLY });
    const request = parseDelete(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    ack?.({ deleted: await source.delete(request.clientId, 'inspector') });
  }

  async function onPrune(...args: unknown[]): Promise<void> {
    const { payload, ack } = splitArgs(args);
    if (!allowWrites) return void ack?.({ error: READ_ONLY });
    const request = parsePrune(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    ack?.({ pruned: await source.prune() });
  }

  /**
   * "Export as test": the client's history as the viewer recorded it, turned into a vitest file
   * that replays it through the testing kit and asserts what was observed. Read-only: allowed to
   * every viewer. The client's data goes in as the viewer sees it (after `redact`).
   */
  async function onExport(...args: unknown[]): Promise<void> {
    const { payload, ack } = splitArgs(args);
    const request = parseExport(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    const view = await source.get(request.clientId);
    const text = view ? row(view).data : null;
    let data: unknown;
    try {
      data = text === null ? undefined : JSON.parse(text);
    } catch {
      data = undefined; // cut at the row's bound: not worth replaying
    }
    let testFile: string;
    try {
      testFile = recordingToTest(request.events as LifecycleEvent[], {
        ...source.settings,
        ...(data === undefined ? {} : { data }),
      });
    } catch (error) {
      return void ack?.({
        error: error instanceof TypeError ? error.message : 'the history could not be turned into a test',
      });
    }
    ack?.({ source: testFile, filename: `client-${request.clientId.slice(0, 8)}.test.ts` });
  }

  /** Runs a viewer's request; whatever goes wrong is answered, never thrown into socket.io. */
  function guarded(handler: (...args: unknown[]) => Promise<void>) {
    return function viewerRequest(...args: unknown[]): void {
      const fail = (error: unknown) => {
        logger.warn({ err: error }, 'socket.io-supervisor inspector: a viewer request failed');
        try {
          splitArgs(args).ack?.({ error: 'the request failed on the server' });
        } catch {
          // the viewer is gone; nothing left to tell
        }
      };
      try {
        handler(...args).catch(fail);
      } catch (error) {
        fail(error);
      }
    };
  }

  function onConnection(socket: Socket): void {
    snapshot()
      .then((state) => socket.emit('snapshot', state))
      .catch((error: unknown) => logger.warn({ err: error }, 'socket.io-supervisor inspector: a snapshot failed'));
    socket.on('delete', guarded(onDelete));
    socket.on('prune', guarded(onPrune));
    socket.on('export', guarded(onExport));
  }
  nsp.on('connection', onConnection);

  return {
    snapshot,
    close() {
      clearInterval(timer);
      subscription.unsubscribe();
      nsp.off('connection', onConnection);
    },
  };
}
