import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Namespace, Server, Socket } from 'socket.io';
import type { ClusterSupervisor } from '../cluster/clusterSupervisor.js';
import { randomId } from '../core/ids.js';
import { inspectableOf } from '../core/inspectable.js';
import type { ClientView } from '../core/types.js';
import type { Supervisor } from '../createSupervisor.js';
import { clientMachine } from '../machines/client.machine.js';
import { accessCookies, isAuthorized } from './access.js';
import { createLiveFeed } from './liveFeed.js';
import { loadAssets } from './pageAssets.js';
import { requestTarget } from './requestTarget.js';
import { statechartModel } from './statechart.js';

export type { ClientRow } from './clientRow.js';
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
   * The secret that opens the inspector (`?token=` once, then a cookie, or
   * `Authorization: Bearer`). Ignored when `authorize` is given.
   * @default a random 128-bit token, readable as `inspector.token`
   */
  token?: string;
  /** Decides access from the request instead of a token (your session, your SSO). */
  authorize?: (req: IncomingMessage) => boolean;
  /** Whether the page may delete clients and run a prune. @default false */
  allowWrites?: boolean;
  /**
   * Whether each client's `data` is shown (as JSON text, at most 1,000 characters, searchable
   * by the filter). `false` keeps every client's `data` on the server.
   * @default true
   */
  showData?: boolean;
  /**
   * Maps a client's `data` before a viewer gets it, to leave out secrets or personal data.
   * Return `undefined` to show nothing for that client.
   * @example redact: (data) => ({ ...(data as object), email: undefined })
   */
  redact?: (data: unknown, client: ClientView) => unknown;
  /** @default '/supervisor-inspector' */
  namespace?: string;
  /** How often updates are batched to viewers. @default 250 (ms) */
  flushInterval?: number;
  /** Events kept per batch (and for a new viewer's history); older ones are dropped and counted. @default 2000 */
  maxBufferedEvents?: number;
  /**
   * Cluster mode: how often the page each viewer shows (and the counts) is read again from Redis
   * while it is open (other nodes' changes do not come through this process's events). Only that
   * page is read, never every client.
   * @default 2000 (ms)
   */
  refreshInterval?: number;
}

/** A mounted inspector: where it is served, its token, and how to unmount it. */
export interface Inspector {
  readonly path: string;
  /** The token that opens it (`null` with `authorize`). */
  readonly token: string | null;
  /** The URL to open, given the server's base URL. */
  url(base: string): string;
  /** Answers an inspector request; `false` if the request is not the inspector's. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Whether a request carries what opens the inspector (its token as a Bearer header or cookie,
   * or `authorize(req)`): guard your own admin routes with the same key.
   */
  isAuthorized(req: IncomingMessage): boolean;
  /** Unmounts: removes every listener, interval, namespace handler and subscription it added. */
  close(): void;
}

const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/**
 * Mounts the inspector: a page served by the application's own server (no CDN, works offline),
 * fed over its own socket.io namespace. Off unless mounted; 401 without the token or
 * `authorize(req)`; never sends a client token.
 */
export function mountInspector(supervisor: Supervisor | ClusterSupervisor, options: InspectorOptions): Inspector {
  const path = (options.path ?? '/supervisor').replace(/\/$/, '');
  const rule = {
    token: options.authorize ? null : (options.token ?? randomId()),
    authorize: options.authorize,
  };
  const allowWrites = options.allowWrites ?? false;
  const source = inspectableOf(supervisor);
  const { logger } = source;
  const nsp: Namespace = options.io.of(options.namespace ?? '/supervisor-inspector');
  const socketPath = options.io.path();
  const assets = loadAssets(path, { namespace: nsp.name, socketPath, allowWrites, cluster: source.cluster });
  const feed = createLiveFeed({
    source,
    refreshInterval: options.refreshInterval ?? 2000,
    nsp,
    chart: statechartModel(clientMachine),
    rows: { showData: options.showData ?? true, redact: options.redact },
    allowWrites,
    flushInterval: options.flushInterval ?? 250,
    maxBuffered: options.maxBufferedEvents ?? 2000,
    logger,
  });

  function refuse(res: ServerResponse): void {
    res.writeHead(401, { ...NO_STORE, 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      rule.authorize
        ? 'socket.io-supervisor inspector: not authorized (authorize(req) refused this request)\n'
        : 'socket.io-supervisor inspector: missing or wrong token; open the URL the server printed (…?token=…)\n',
    );
  }

  function serve(req: IncomingMessage, res: ServerResponse, rest: string, fromQuery: string | null): void {
    if (!isAuthorized(rule, req, fromQuery)) {
      refuse(res);
      return;
    }
    const headers: Record<string, string | string[]> = { ...NO_STORE };
    if (rule.token && fromQuery) headers['set-cookie'] = accessCookies(rule.token, [path, socketPath]);
    if (rest === '/state.json') {
      feed
        .snapshot()
        .then((state) => {
          res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify(state));
        })
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'socket.io-supervisor inspector: state.json failed');
          if (!res.headersSent) res.writeHead(500, { ...NO_STORE, 'content-type': 'text/plain; charset=utf-8' });
          res.end();
        });
      return;
    }
    const asset = assets.get(rest)!;
    res.writeHead(200, { ...headers, 'content-type': `${asset.type}; charset=utf-8` });
    res.end(asset.body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = requestTarget(req.url);
    if (!target) return false;
    const { pathname, query } = target;
    if (pathname !== path && !pathname.startsWith(`${path}/`)) return false;
    const rest = pathname.slice(path.length);
    if (rest !== '/state.json' && !assets.has(rest)) return false;
    try {
      serve(req, res, rest, query.get('token'));
    } catch (error) {
      logger.warn({ err: error }, 'socket.io-supervisor inspector: a request failed');
      if (!res.headersSent) res.writeHead(500, { ...NO_STORE, 'content-type': 'text/plain; charset=utf-8' });
      res.end();
    }
    return true;
  }

  // ------------------------------------------------------------------ the viewers' handshake
  function authMiddleware(socket: Socket, next: (err?: Error) => void): void {
    let ok = false;
    try {
      const auth: unknown = socket.handshake.auth;
      const presented = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
      ok = isAuthorized(rule, socket.request, presented);
    } catch {
      ok = false;
    }
    if (ok) return void next();
    next(Object.assign(new Error('inspector: not authorized'), { data: { code: 'UNAUTHORIZED' } }));
  }
  nsp.use(authMiddleware);

  // ------------------------------------------------------------------ HTTP
  const httpServer = options.httpServer ?? (options.io as unknown as { httpServer?: HttpServer }).httpServer;
  let previous: Array<(...args: unknown[]) => void> = [];
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (handle(req, res)) return;
    for (const listener of previous) listener.call(httpServer, req, res);
  }
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
    token: rule.token,
    url: (base) => `${base.replace(/\/$/, '')}${path}/${rule.token ? `?token=${encodeURIComponent(rule.token)}` : ''}`,
    handle,
    isAuthorized: (req) => isAuthorized(rule, req, null),
    close() {
      if (closed) return;
      closed = true;
      feed.close();
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
