// A production-shaped server: pino logs, /healthz and /readyz for the load balancer and
// Kubernetes, and a SIGTERM handler that stops accepting, closes within closeTimeout and exits 0.
// Run it: npm run build && npx tsx examples/ops/server.ts (docs/operations.md explains each part)
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import pino, { type Logger as PinoLogger } from 'pino';
import { Server } from 'socket.io';
import { createSupervisor, type Supervisor } from 'socket.io-supervisor';

/** The settings this example reads from its environment (examples/ops/kubernetes.yaml sets them). */
export interface OpsSettings {
  /** `PORT`; `0` picks a free one. @default 3000 */
  port: number;
  /** `HOST`: every interface in a container. @default '0.0.0.0' */
  host: string;
  /** `CLOSE_TIMEOUT_MS`: the supervisor's closeTimeout. @default 10000 */
  closeTimeout: number;
  /** `LOG_LEVEL`. @default 'info' */
  logLevel: string;
}

export function settingsFrom(env: NodeJS.ProcessEnv): OpsSettings {
  return {
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '0.0.0.0',
    closeTimeout: Number(env.CLOSE_TIMEOUT_MS ?? 10_000),
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}

export interface OpsExample {
  url: string;
  http: HttpServer;
  io: Server;
  supervisor: Supervisor<{ user: string }>;
  logger: PinoLogger;
  /** What SIGTERM runs: stop accepting, close the supervisor (within closeTimeout), close socket.io. */
  shutdown(): Promise<void>;
}

/** Where the app keeps per-client state outside the process (a database, Redis): here a Map. */
export interface SessionStore {
  save(clientId: string, user: string): Promise<void>;
  remove(clientId: string): Promise<void>;
}

function memorySessions(): SessionStore {
  const sessions = new Map<string, string>();
  return {
    save: async (clientId, user) => void sessions.set(clientId, user),
    remove: async (clientId) => void sessions.delete(clientId),
  };
}

export async function startOpsExample(
  settings: OpsSettings,
  {
    logger = pino({ level: settings.logLevel }),
    sessions = memorySessions(),
  }: { logger?: PinoLogger; sessions?: SessionStore } = {},
) {
  const app = express();
  const http = createServer(app);
  const io = new Server(http);

  const supervisor = createSupervisor<{ user: string }>({
    // single-page clients: a socket without credentials gets a new client
    autoRegister: true,
    // every line of the library goes to pino, as a child bound to { lib: 'socket.io-supervisor' }
    logger,
    // close() gives up on hooks still running after this long: keep it below the grace period
    // (terminationGracePeriodSeconds in kubernetes.yaml is derived from it)
    closeTimeout: settings.closeTimeout,
    // behind nginx or HAProxy every socket comes from the proxy: count the address it saw
    rateLimit: {
      address: (handshake) => {
        const real = handshake.headers['x-real-ip'];
        return typeof real === 'string' ? real : handshake.address;
      },
    },
    hooks: {
      onConnect: (client) => sessions.save(client.clientId, client.data?.user ?? 'guest'),
      // at shutdown each client's onDelete runs (reason `shutdown`), bounded by closeTimeout
      onDelete: (client) => sessions.remove(client.clientId),
    },
  });
  supervisor.attach(io);

  // Liveness: is this process working? 503 only if the supervisor stopped (a restart would help).
  app.get('/healthz', (_req, res) => {
    const health = supervisor.health();
    res.status(health.live ? 200 : 503).json(health);
  });
  // Readiness: should new connections come here? 503 from the moment shutdown begins.
  app.get('/readyz', (_req, res) => {
    const health = supervisor.health();
    res.status(health.ready ? 200 : 503).json(health);
  });

  await new Promise<void>((resolve) => http.listen(settings.port, settings.host, resolve));
  const { port } = http.address() as AddressInfo;
  const url = `http://${settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host}:${port}`;

  let shuttingDown: Promise<void> | null = null;
  function shutdown(): Promise<void> {
    shuttingDown ??= (async () => {
      logger.info({ closeTimeout: settings.closeTimeout }, 'shutting down');
      // 1. stop accepting: from here /readyz answers 503 (a load balancer still probing takes this
      //    process out) and a socket still arriving is refused SHUTTING_DOWN (its page retries,
      //    reaching another process); 2. every client is deleted with reason `shutdown` (its page
      //    is told, its onDelete runs), within closeTimeout
      await supervisor.close();
      // 3. the sockets left (other namespaces) and the HTTP server, with its open connections
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      });
      logger.info('closed');
    })();
    return shuttingDown;
  }

  return { url, http, io, supervisor, logger, shutdown } satisfies OpsExample;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const settings = settingsFrom(process.env);
  const example = await startOpsExample(settings);
  example.logger.info({ url: example.url }, 'listening');
  process.once('SIGTERM', () => {
    // a last resort: if closing ever hangs past closeTimeout, exit anyway (non-zero: say so)
    setTimeout(() => process.exit(1), settings.closeTimeout + 5000).unref();
    example.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        example.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
