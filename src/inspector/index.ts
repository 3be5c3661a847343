import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import type { Namespace, Server, Socket } from 'socket.io';
import { secretsEqual } from '../core/ids.js';
import { internalsOf } from '../core/internals.js';
import type { Supervisor } from '../core/supervisor.js';
import type { LifecycleEvent } from '../core/types.js';
import { clientMachine } from '../machines/client.machine.js';
import { statechartModel } from './statechart.js';

export { filterInspection, type InspectionFilter } from './filterInspection.js';
export { type ChartModel, type ChartState, type ChartTransition, statechartModel } from './statechart.js';

/** Options of {@link mountInspector}. */
export interface InspectorOptions {
  /** The application's socket.io server: live data travels over its own namespace on it. */
  io: Server;
  /**
   * The HTTP server to serve the page from; requests under `path` that the inspector knows are
   * answered, everything else goes to the application's handlers as before.
   * @default the HTTP server `io` is attached to; without one, call `inspector.handle(req, res)`
   */
  httpServer?: HttpServer;
  /** @default '/supervisor' */
  path?: string;
  /**
   * The secret that opens the inspector (`?token=` once, then a cookie scoped to `path`, or
   * `Authorization: Bearer`). Ignored when `authorize` is given.
   * @default a random 128-bit token, readable as `inspector.token`
   */
  token?: string;
  /** Decides access from the request instead of a token (your session, your SSO). */
  authorize?: (req: IncomingMessage) => boolean;
  /** Whether the page may delete clients and run a prune. @default false */
  allowWrites?: boolean;
  /** @default '/supervisor-inspector' */
  namespace?: string;
  /** How often updates are batched to viewers. @default 250 (ms) */
  flushInterval?: number;
  /** Events kept per batch (and for a new viewer's history); older ones are dropped and counted. @default 2000 */
  maxBufferedEvents?: number;
}

export interface Inspector {
  readonly path: string;
  /** The token that opens it (`null` with `authorize`). */
  readonly token: string | null;
  /** The URL to open, given the server's base URL. */
  url(base: string): string;
  /** Answers an inspector request; `false` if the request is not the inspector's. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Unmounts: removes every listener, interval, namespace handler and subscription it added. */
  close(): void;
}

const PAGE_DIR = new URL('../../inspector-page/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '': { file: 'index.html', type: 'text/html' },
  '/': { file: 'index.html', type: 'text/html' },
  '/inspector.js': { file: 'inspector.js', type: 'text/javascript' },
  '/inspector.css': { file: 'inspector.css', type: 'text/css' },
};
const COOKIE = 'sio_supervisor_inspector';

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/**
 * Mounts the inspector: a page served by the application's own server (no CDN, works offline),
 * fed over its own socket.io namespace. Off unless mounted; 401 without the token or
 * `authorize(req)`; never sends a client token.
 */
export function mountInspector(supervisor: Supervisor, options: InspectorOptions): Inspector {
  const path = (options.path ?? '/supervisor').replace(/\/$/, '');
  const token = options.authorize ? null : (options.token ?? randomBytes(16).toString('base64url'));
  const allowWrites = options.allowWrites ?? false;
  const flushInterval = options.flushInterval ?? 250;
  const maxBuffered = options.maxBufferedEvents ?? 2000;
  const chart = statechartModel(clientMachine);
  const { options: settings } = internalsOf(supervisor);

  function authorized(req: IncomingMessage, presented: string | null): boolean {
    if (options.authorize) {
      try {
        return options.authorize(req) === true;
      } catch {
        return false;
      }
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
    return [presented, bearer, readCookie(req.headers.cookie, COOKIE)].some((candidate) =>
      secretsEqual(token!, candidate),
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://inspector');
    if (url.pathname !== path && !url.pathname.startsWith(`${path}/`)) return false;
    const rest = url.pathname.slice(path.length);
    if (rest !== '/state.json' && !(rest in ASSETS)) return false;
    const fromQuery = url.searchParams.get('token');
    if (!authorized(req, fromQuery)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(
        options.authorize
          ? 'socket.io-supervisor inspector: not authorized (authorize(req) refused this request)\n'
          : 'socket.io-supervisor inspector: missing or wrong token; open the URL the server printed (…?token=…)\n',
      );
      return true;
    }
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (token && fromQuery) {
      headers['set-cookie'] = `${COOKIE}=${encodeURIComponent(token)}; Path=${path || '/'}; HttpOnly; SameSite=Strict`;
    }
    if (rest === '/state.json') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(snapshot()));
      return true;
    }
    const asset = ASSETS[rest]!;
    let body = readFileSync(new URL(asset.file, PAGE_DIR), 'utf8');
    if (asset.file === 'index.html') {
      body = body
        .replaceAll('{{base}}', path)
        .replace('/*CONFIG*/null', JSON.stringify({ namespace: nsp.name, socketPath: options.io.path(), allowWrites }));
    }
    res.writeHead(200, { ...headers, 'content-type': `${asset.type}; charset=utf-8` });
    res.end(body);
    return true;
  }

  // ------------------------------------------------------------------ live data
  const nsp: Namespace = options.io.of(options.namespace ?? '/supervisor-inspector');
  const authMiddleware = (socket: Socket, next: (err?: Error) => void) => {
    const presented = typeof socket.handshake.auth?.token === 'string' ? socket.handshake.auth.token : null;
    if (authorized(socket.request, presented)) return void next();
    next(Object.assign(new Error('inspector: not authorized'), { data: { code: 'UNAUTHORIZED' } }));
  };
  nsp.use(authMiddleware);

  let pending: LifecycleEvent[] = [];
  let dropped = 0;
  const recent: LifecycleEvent[] = [];
  const touched = new Set<string>();
  const stale = new WeakSet<Socket>();

  function snapshot() {
    return {
      serverNow: settings.now(),
      clients: supervisor.list(),
      counts: supervisor.counts(),
      stats: supervisor.stats(),
      options: {
        reconnectTimeout: settings.reconnectTimeout,
        handshakeTimeout: settings.handshakeTimeout,
        tombstoneTtl: settings.tombstoneTtl,
      },
      chart,
      allowWrites,
      recent,
    };
  }

  const subscription: Subscription = supervisor.events$.subscribe((event) => {
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
    const changed = [];
    const removed = [];
    for (const clientId of touched) {
      const view = supervisor.get(clientId);
      if (view) changed.push(view);
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
  const timer = setInterval(flush, flushInterval);
  timer.unref?.();

  const onConnection = (socket: Socket) => {
    socket.emit('snapshot', snapshot());
    socket.on('delete', (payload: unknown, ack?: (reply: object) => void) => {
      const clientId = (payload as { clientId?: unknown } | null)?.clientId;
      if (!allowWrites) return void ack?.({ error: 'this inspector is read-only (mount it with allowWrites: true)' });
      if (typeof clientId !== 'string') return void ack?.({ error: 'delete needs { clientId }' });
      ack?.({ deleted: supervisor.delete(clientId, 'inspector') });
    });
    socket.on('prune', (_payload: unknown, ack?: (reply: object) => void) => {
      if (!allowWrites) return void ack?.({ error: 'this inspector is read-only (mount it with allowWrites: true)' });
      ack?.({ pruned: supervisor.prune() });
    });
  };
  nsp.on('connection', onConnection);

  // ------------------------------------------------------------------ HTTP
  const httpServer = options.httpServer ?? (options.io as unknown as { httpServer?: HttpServer }).httpServer;
  let previous: Array<(...args: unknown[]) => void> = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (handle(req, res)) return;
    for (const listener of previous) listener.call(httpServer, req, res);
  };
  if (httpServer) {
    // the inspector answers first for its own routes and hands everything else on, the way
    // socket.io serves /socket.io/ in front of the application
    previous = httpServer.listeners('request') as typeof previous;
    httpServer.removeAllListeners('request');
    httpServer.on('request', onRequest);
  }

  let closed = false;
  return {
    path,
    token,
    url: (base) => `${base.replace(/\/$/, '')}${path}/${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    handle,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      subscription.unsubscribe();
      nsp.off('connection', onConnection);
      const fns = (nsp as unknown as { _fns?: unknown[] })._fns;
      const index = fns?.indexOf(authMiddleware) ?? -1;
      if (fns && index >= 0) fns.splice(index, 1);
      for (const socket of nsp.sockets.values()) socket.disconnect(true);
      if (httpServer) {
        httpServer.off('request', onRequest);
        for (const listener of previous) httpServer.on('request', listener);
      }
    },
  };
}
