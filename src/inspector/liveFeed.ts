import type { Subscription } from 'rxjs';
import type { Namespace, Socket } from 'socket.io';
import type { Inspectable, InspectedClient } from '../core/inspectable.js';
import type { LifecycleEvent, Logger } from '../core/types.js';
import { recordingToTest } from '../testing/recordingToTest.js';
import { type ClientRow, clientRow, type RowOptions } from './clientRow.js';
import { readPage } from './pages.js';
import { type ChartModel, statechartModel } from './statechart.js';
import { type PageQuery, parseDelete, parseExport, parsePrune, parseView, splitArgs } from './viewerMessages.js';

export interface LiveFeedOptions {
  source: Inspectable;
  nsp: Namespace;
  chart: ChartModel;
  rows: RowOptions;
  allowWrites: boolean;
  flushInterval: number;
  maxBuffered: number;
  /** How often each viewer's page is read again in cluster mode (other nodes' changes come through Redis only). */
  refreshInterval: number;
  logger: Logger;
}

export interface LiveFeed {
  /** Everything a new viewer starts from (also served as `state.json`). */
  snapshot(): Promise<object>;
  close(): void;
}

const READ_ONLY = 'this inspector is read-only (mount it with allowWrites: true)';

/** The rows of a cluster snapshot (`state.json`, a viewer's first message): one page, never the whole cluster. */
const SNAPSHOT_PAGE = 50;
/** The most page cursors kept per viewer (its `next` numbers); older ones answer "start again". */
const MAX_CURSORS = 256;

/** The page a viewer shows, and the cursors it was handed (each `next` it got indexes one). */
interface ViewerPage {
  query: PageQuery;
  cursors: Map<number, string>;
  handedOut: number;
  /** One read at a time per viewer: a request that comes meanwhile is read once this one ends. */
  reading: boolean;
  again: boolean;
}

/**
 * The inspector's live data: lifecycle events batched every `flushInterval` to the viewers of
 * its namespace, a snapshot for each new viewer, the page of clients each viewer asks for
 * (`view`), and the viewers' `delete`, `prune` and `export` requests. It reads the supervisor
 * through its {@link Inspectable}: at once for a single process, whose viewers' pages are read
 * again when its clients change; by promises from Redis for a cluster node, where only the page
 * each viewer shows is read again, every `refreshInterval` (other nodes' changes come through
 * Redis, not this process's events): the Redis work of an open page does not grow with the
 * number of clients.
 */
export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const { source, nsp, allowWrites, maxBuffered, logger } = options;
  let pending: LifecycleEvent[] = [];
  let dropped = 0;
  const recent: LifecycleEvent[] = [];
  const touched = new Set<string>();
  const stale = new WeakSet<Socket>();
  const pages = new WeakMap<Socket, ViewerPage>();
  let lastRefresh = 0;
  let flushing = false;
  const row = (client: InspectedClient): ClientRow => clientRow(client, options.rows);
  /** Cluster mode: the node machine's chart (drawn once per viewer) and its state. */
  const nodeChart = source.nodeMachine ? statechartModel(source.nodeMachine.machine) : null;
  const nodeLife = () => (nodeChart && source.nodeMachine ? { nodeChart, nodeState: source.nodeMachine.state() } : {});

  async function snapshot() {
    const [clients, counts, nodes] = await Promise.all([
      source.list
        ? source.list()
        : source.listPage
          ? source.listPage({ limit: SNAPSHOT_PAGE }).then((p) => p.clients)
          : [],
      source.counts(),
      source.nodes(),
    ]);
    return {
      serverNow: source.now(),
      cluster: source.cluster,
      nodeId: source.nodeId,
      // a single node's every client; a cluster node's first page (a viewer asks for the pages it shows)
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

  /** The rows that changed: the clients this process's events touched (the live feed of this node). */
  async function changes(): Promise<{ changed: ClientRow[]; removed: string[] }> {
    const changed: ClientRow[] = [];
    const removed: string[] = [];
    const views = await Promise.all(
      [...touched].map(async (clientId) => [clientId, await source.get(clientId)] as const),
    );
    for (const [clientId, view] of views) {
      if (view) changed.push(row(view));
      else removed.push(clientId);
    }
    return { changed, removed };
  }

  /**
   * The number a viewer gets for a page's start: the same for the same start (a page read again
   * at each refresh hands out nothing new), at most MAX_CURSORS per viewer, the oldest forgotten
   * first but never the one the viewer shows.
   */
  function handOut(viewer: ViewerPage, cursor: string, showing: number | null): number {
    for (const [token, value] of viewer.cursors) if (value === cursor) return token;
    const token = viewer.handedOut++;
    viewer.cursors.set(token, cursor);
    for (const old of viewer.cursors.keys()) {
      if (viewer.cursors.size <= MAX_CURSORS) break;
      if (old !== showing) viewer.cursors.delete(old);
    }
    return token;
  }

  /**
   * Reads the page a viewer shows and sends it (`page`). One read at a time per viewer, so a
   * viewer that asks faster than the store answers costs one read in flight and one waiting.
   */
  async function showPage(socket: Socket, viewer: ViewerPage): Promise<void> {
    if (viewer.reading) {
      viewer.again = true;
      return;
    }
    viewer.reading = true;
    const { query } = viewer;
    try {
      const start = query.cursor === null ? null : viewer.cursors.get(query.cursor);
      if (start === undefined) {
        socket.emit('page', {
          seq: query.seq,
          lost: true,
          error: 'that page is no longer known: back to the first one',
        });
      } else {
        const page = await readPage(source, query, start, options.rows);
        const next = page.next === null ? null : handOut(viewer, page.next, query.cursor);
        socket.emit('page', { seq: query.seq, serverNow: source.now(), ...page, next, limit: query.limit });
      }
    } catch (error) {
      logger.warn({ err: error }, 'socket.io-supervisor inspector: a page could not be read');
      socket.emit('page', { seq: query.seq, error: 'the page could not be read on the server' });
    } finally {
      viewer.reading = false;
    }
    if (viewer.again && socket.connected) {
      viewer.again = false;
      await showPage(socket, viewer);
    }
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
    if (due) lastRefresh = source.now();
    const { changed, removed } = await changes();
    touched.clear();
    // a single node's pages are read again when its clients changed (from memory); a cluster
    // node's every refreshInterval (from Redis), since other nodes change them too
    const pagesDue = source.cluster ? due : changed.length > 0 || removed.length > 0;
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
        const viewer = pages.get(socket);
        if (pagesDue && viewer) void showPage(socket, viewer);
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

  /** `view`: the page this viewer shows from now on (read now, and again at each refresh). */
  async function onView(socket: Socket, ...args: unknown[]): Promise<void> {
    const { payload, ack } = splitArgs(args);
    const request = parseView(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    const viewer: ViewerPage = pages.get(socket) ?? {
      query: request.query,
      cursors: new Map(),
      handedOut: 0,
      reading: false,
      again: false,
    };
    if (request.query.cursor !== null && !viewer.cursors.has(request.query.cursor)) {
      return void ack?.({ error: 'view: that page is no longer known (ask for the first page again)' });
    }
    viewer.query = request.query;
    pages.set(socket, viewer);
    ack?.({ ok: true });
    await showPage(socket, viewer);
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
    socket.on(
      'view',
      guarded((...args) => onView(socket, ...args)),
    );
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
