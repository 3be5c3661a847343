import type { Subscription } from 'rxjs';
import type { Namespace, Socket } from 'socket.io';
import { internalsOf } from '../core/internals.js';
import type { Supervisor } from '../core/supervisor.js';
import type { LifecycleEvent, Logger } from '../core/types.js';
import { recordingToTest } from '../testing/recordingToTest.js';
import { type ClientRow, clientRow, type RowOptions } from './clientRow.js';
import type { ChartModel } from './statechart.js';
import { parseDelete, parseExport, parsePrune, splitArgs } from './viewerMessages.js';

export interface LiveFeedOptions {
  supervisor: Supervisor;
  nsp: Namespace;
  chart: ChartModel;
  rows: RowOptions;
  allowWrites: boolean;
  flushInterval: number;
  maxBuffered: number;
  logger: Logger;
}

export interface LiveFeed {
  /** Everything a new viewer starts from (also served as `state.json`). */
  snapshot(): object;
  close(): void;
}

const READ_ONLY = 'this inspector is read-only (mount it with allowWrites: true)';

/**
 * The inspector's live data: lifecycle events batched every `flushInterval` to the viewers of
 * its namespace, a snapshot for each new viewer, and the viewers' `delete` and `prune` requests.
 */
export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const { supervisor, nsp, allowWrites, maxBuffered, logger } = options;
  const { options: settings } = internalsOf(supervisor);
  let pending: LifecycleEvent[] = [];
  let dropped = 0;
  const recent: LifecycleEvent[] = [];
  const touched = new Set<string>();
  const stale = new WeakSet<Socket>();
  const row = (view: Parameters<typeof clientRow>[0]): ClientRow => clientRow(view, options.rows);

  function snapshot() {
    return {
      serverNow: settings.now(),
      clients: supervisor.list().map(row),
      counts: supervisor.counts(),
      stats: supervisor.stats(),
      options: {
        reconnectTimeout: settings.reconnectTimeout,
        handshakeTimeout: settings.handshakeTimeout,
        tombstoneTtl: settings.tombstoneTtl,
      },
      chart: options.chart,
      allowWrites,
      recent,
    };
  }

  const subscription: Subscription = supervisor.events$.subscribe(function bufferEvent(event) {
    pending.push(event);
    if (pending.length > maxBuffered) {
      pending.shift();
      dropped += 1;
    }
    recent.push(event);
    if (recent.length > maxBuffered) recent.shift();
    if (event.clientId) touched.add(event.clientId);
  });

  function flush(): void {
    if (pending.length === 0 && touched.size === 0) return;
    if (nsp.sockets.size === 0) {
      // nobody watching: nothing to build; a viewer that comes starts from a snapshot anyway
      pending = [];
      dropped = 0;
      touched.clear();
      return;
    }
    const changed: ClientRow[] = [];
    const removed: string[] = [];
    for (const clientId of touched) {
      const view = supervisor.get(clientId);
      if (view) changed.push(row(view));
      else removed.push(clientId);
    }
    const update = {
      serverNow: settings.now(),
      events: pending,
      changed,
      removed,
      counts: supervisor.counts(),
      stats: supervisor.stats(),
      dropped,
    };
    pending = [];
    dropped = 0;
    touched.clear();
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
        socket.emit('snapshot', snapshot());
      } else {
        socket.emit('update', update);
      }
    }
  }
  const timer = setInterval(function flushSafely() {
    try {
      flush();
    } catch (error) {
      // a timer callback that throws is fatal to the process; a lost batch is not
      logger.warn({ err: error }, 'socket.io-supervisor inspector: a batch to viewers failed');
    }
  }, options.flushInterval);
  timer.unref?.();

  function onDelete(...args: unknown[]): void {
    const { payload, ack } = splitArgs(args);
    if (!allowWrites) return void ack?.({ error: READ_ONLY });
    const request = parseDelete(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    ack?.({ deleted: supervisor.delete(request.clientId, 'inspector') });
  }

  function onPrune(...args: unknown[]): void {
    const { payload, ack } = splitArgs(args);
    if (!allowWrites) return void ack?.({ error: READ_ONLY });
    const request = parsePrune(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    ack?.({ pruned: supervisor.prune() });
  }

  /**
   * "Export as test": the client's history as the viewer recorded it, turned into a vitest file
   * that replays it through the testing kit and asserts what was observed. Read-only: allowed to
   * every viewer. The client's data goes in as the viewer sees it (after `redact`).
   */
  function onExport(...args: unknown[]): void {
    const { payload, ack } = splitArgs(args);
    const request = parseExport(payload);
    if (!request.ok) return void ack?.({ error: request.error });
    const view = supervisor.get(request.clientId);
    const text = view ? row(view).data : null;
    let data: unknown;
    try {
      data = text === null ? undefined : JSON.parse(text);
    } catch {
      data = undefined; // cut at the row's bound: not worth replaying
    }
    let source: string;
    try {
      source = recordingToTest(request.events as LifecycleEvent[], {
        handshakeTimeout: settings.handshakeTimeout,
        reconnectTimeout: settings.reconnectTimeout,
        tombstoneTtl: settings.tombstoneTtl,
        ...(data === undefined ? {} : { data }),
      });
    } catch (error) {
      return void ack?.({
        error: error instanceof TypeError ? error.message : 'the history could not be turned into a test',
      });
    }
    ack?.({ source, filename: `client-${request.clientId.slice(0, 8)}.test.ts` });
  }

  /** Runs a viewer's request; whatever goes wrong is answered, never thrown into socket.io. */
  function guarded(handler: (...args: unknown[]) => void) {
    return function viewerRequest(...args: unknown[]): void {
      try {
        handler(...args);
      } catch (error) {
        logger.warn({ err: error }, 'socket.io-supervisor inspector: a viewer request failed');
        try {
          splitArgs(args).ack?.({ error: 'the request failed on the server' });
        } catch {
          // the viewer is gone; nothing left to tell
        }
      }
    };
  }

  function onConnection(socket: Socket): void {
    socket.emit('snapshot', snapshot());
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
