import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type OpsExample, type SessionStore, settingsFrom, startOpsExample } from '../examples/ops/server.js';
import { freePort } from './cluster/redisServer.js';

// examples/ops/ as it is: the server's SIGTERM handler in a child process with real sockets
// connecting while the signal arrives, its health endpoints over HTTP, kubernetes.yaml against the
// server's options, and nginx and HAProxy (real processes, from the example files) in front of it.

const OPS = 'examples/ops';
const quiet = { logLevel: 'silent', host: '127.0.0.1', port: 0, closeTimeout: 10_000 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function client(url: string, options: { transports?: string[] } = {}): ClientSocket {
  const socket = connectClient(url, {
    forceNew: true,
    reconnection: false,
    transports: options.transports ?? ['websocket'],
  });
  cleanups.push(() => void socket.disconnect());
  return socket;
}

/** Resolves with the `supervisor:client` credentials the server sends an autoRegister'ed socket. */
function registered(socket: ClientSocket): Promise<{ clientId: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no supervisor:client within 5 s')), 5000);
    socket.once('supervisor:client', (credentials: { clientId: string }) => {
      clearTimeout(timer);
      resolve(credentials);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function start(sessions?: SessionStore): Promise<OpsExample> {
  const example = await startOpsExample(quiet, sessions ? { sessions } : {});
  cleanups.push(() => example.shutdown());
  return example;
}

describe('examples/ops/server.ts: SIGTERM during connects (a child process)', () => {
  it('should exit 0 within closeTimeout, every connected client told `shutdown` and disconnected', async () => {
    const closeTimeout = 3000;
    const child = spawn(process.execPath, ['--import', 'tsx', `${OPS}/server.ts`], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', CLOSE_TIMEOUT_MS: String(closeTimeout), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const lines: Array<Record<string, unknown>> = [];
    const listening = new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'listening') resolve(entry.url as string);
      });
      void exited.then(() => reject(new Error(`the server exited before listening: ${stderr}`)));
    });
    const url = await listening;

    interface Tracked {
      socket: ClientSocket;
      connected: boolean;
      deleted: string | null;
      disconnected: string | null;
      refused: string | null;
    }
    const tracked: Tracked[] = [];
    function open(): Tracked {
      const socket = client(url);
      const entry: Tracked = { socket, connected: false, deleted: null, disconnected: null, refused: null };
      socket.on('connect', () => (entry.connected = true));
      socket.on('supervisor:deleted', (notice: { reason: string }) => (entry.deleted = notice.reason));
      socket.on('disconnect', (reason) => (entry.disconnected = reason));
      socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
        entry.refused = error.data?.code ?? error.message;
      });
      tracked.push(entry);
      return entry;
    }

    // 30 clients connected, then a new socket every 5 ms while SIGTERM arrives
    await Promise.all(Array.from({ length: 30 }, () => registered(open().socket)));
    let stopped = false;
    const stream = (async () => {
      while (!stopped) {
        open();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const signalledAt = performance.now();
    child.kill('SIGTERM');
    const exit = await exited;
    const took = performance.now() - signalledAt;
    await new Promise((resolve) => setTimeout(resolve, 200));
    stopped = true;
    await stream;

    expect(exit, stderr).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(closeTimeout);
    const connected = tracked.filter((entry) => entry.connected);
    expect(connected.length).toBeGreaterThan(30);
    // told why (the supervisor's notice), then disconnected by the server
    for (const entry of connected)
      expect(entry).toMatchObject({ deleted: 'shutdown', disconnected: 'io server disconnect' });
    // the others were refused while it closed (SHUTTING_DOWN), found nothing listening after, or
    // lost their connection mid-handshake (socket.io-client reports a disconnect): each knows
    for (const entry of tracked.filter((each) => !each.connected)) {
      if (entry.refused === null) expect(entry.disconnected).toBe('transport close');
      else expect(['SHUTTING_DOWN', 'websocket error']).toContain(entry.refused);
    }
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'closed']));
    const refused = tracked.filter((each) => !each.connected);
    process.stdout.write(
      `ops: SIGTERM to exit ${Math.round(took)} ms; ${connected.length} sockets connected and were told shutdown; ${refused.length} refused or cut mid-handshake\n`,
    );
    expect(lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});

describe('examples/ops/server.ts: /healthz and /readyz over HTTP', () => {
  it('should answer 200 on both while serving, and /readyz 503 (with /healthz 200) while closing', async () => {
    let releaseDelete = () => {};
    const removing = new Promise<void>((resolve) => (releaseDelete = resolve));
    const example = await start({ save: async () => {}, remove: () => removing });
    const ready = await fetch(`${example.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, live: true, closing: false });
    expect((await fetch(`${example.url}/healthz`)).status).toBe(200);

    // a client whose onDelete (the session store) is slow: close() waits for it
    const socket = client(example.url);
    await registered(socket);
    const closed = example.shutdown();
    const closing = await fetch(`${example.url}/readyz`);
    expect(closing.status).toBe(503);
    expect(await closing.json()).toMatchObject({ ready: false, live: true, closing: true, pendingHooks: 1 });
    expect((await fetch(`${example.url}/healthz`)).status).toBe(200);
    releaseDelete();
    await closed;
    expect(example.supervisor.health()).toMatchObject({ live: false, ready: false });
  });
});

/** The documents of kubernetes.yaml, as plain objects. */
function kubernetes(): Array<Record<string, any>> {
  return parseAllDocuments(readFileSync(`${OPS}/kubernetes.yaml`, 'utf8')).map((doc) => doc.toJS());
}

describe('examples/ops/kubernetes.yaml and Dockerfile', () => {
  it('should give a grace period covering preStop, closeTimeout and a margin, probes on the server’s endpoints', async () => {
    const [deployment, service] = kubernetes();
    expect(deployment).toMatchObject({ kind: 'Deployment' });
    expect(service).toMatchObject({ kind: 'Service', spec: { sessionAffinity: 'ClientIP' } });
    const pod = deployment!.spec.template.spec;
    const [container] = pod.containers;
    const env = Object.fromEntries(
      container.env.map((entry: { name: string; value: string }) => [entry.name, entry.value]),
    );
    const settings = settingsFrom(env);

    // preStop sleeps in node (the image has no `sleep`): its duration, read from the command
    const preStop = container.lifecycle.preStop.exec.command as string[];
    expect(preStop.slice(0, 2)).toEqual(['node', '-e']);
    const sleepMs = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(preStop[2]!)?.[1]);
    expect(sleepMs).toBeGreaterThan(0);
    // the grace period: preStop, then closeTimeout, then socket.io's own close, with a margin
    const graceMs = pod.terminationGracePeriodSeconds * 1000;
    expect(graceMs).toBeGreaterThanOrEqual(sleepMs + settings.closeTimeout + 2000);

    // the port: the container's, the server's PORT, the probes' and the Service's target
    const [port] = container.ports;
    expect(settings.port).toBe(port.containerPort);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: port.name });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: port.name });
    expect(service!.spec.ports[0].targetPort).toBe(port.name);
    expect(service!.spec.selector).toEqual(deployment!.spec.template.metadata.labels);
    // readiness turns at the first failure, so a closing pod is out within one period
    expect(container.readinessProbe.failureThreshold).toBe(1);

    // the server started with these settings has this closeTimeout, and answers those paths
    const example = await startOpsExample({ ...settings, port: 0, host: '127.0.0.1', logLevel: 'silent' });
    cleanups.push(() => example.shutdown());
    // the example uses the package as it ships (dist/), whose internals are its own module's
    const { internalsOf } = await import(pathToFileURL('dist/core/internals.js').href);
    expect(internalsOf(example.supervisor).options.closeTimeout).toBe(settings.closeTimeout);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect((await fetch(`${example.url}${probe.httpGet.path}`)).status).toBe(200);
    }
  });

  it('should run node itself in exec form (SIGTERM reaches it) on the port the Deployment names', () => {
    const dockerfile = readFileSync(`${OPS}/Dockerfile`, 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd!)[0]).toBe('node');
    const [deployment] = kubernetes();
    const exposed = Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1]);
    expect(exposed).toBe(deployment!.spec.template.spec.containers[0].ports[0].containerPort);
  });
});

/** Waits until something accepts TCP connections on `port` (5 s at most). */
async function listeningOn(port: number, process: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (process.exitCode !== null || Date.now() > deadline) throw new Error(`not listening on ${port}: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `name` on PATH or in the sbin directories Debian installs nginx and haproxy into (not on a user's PATH). */
function executable(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const found = dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
  if (!found) throw new Error(`${name} not found: run scripts/ensure-proxies.sh (npm test's pretest does)`);
  return found;
}

/** Runs `command` in the foreground until the test ends; resolves once it listens on `port`. */
async function runProxy(command: string, args: string[], port: number): Promise<void> {
  const child = spawn(executable(command), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  await listeningOn(port, child, () => output);
}

/** The example file with its loopback backends and listen address replaced by the test's. */
function withPorts(file: string, listen: [RegExp, string], backends: number[]): string {
  return readFileSync(`${OPS}/${file}`, 'utf8')
    .replace(listen[0], listen[1])
    .replace('127.0.0.1:3001', `127.0.0.1:${backends[0]}`)
    .replace('127.0.0.1:3002', `127.0.0.1:${backends[1]}`);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-proxy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function twoServers(): Promise<[OpsExample, OpsExample]> {
  return [await start(), await start()];
}

function portOf(example: OpsExample): number {
  return Number(new URL(example.url).port);
}

/** Connects through the proxy with this transport; the client is registered on one of the servers. */
async function throughProxy(proxyUrl: string, servers: OpsExample[], transports: string[]): Promise<void> {
  const socket = client(proxyUrl, { transports });
  const { clientId } = await registered(socket);
  const holder = servers.find((server) => server.supervisor.get(clientId)?.state === 'connected');
  expect(holder, `client ${clientId} connected on a server`).toBeDefined();
  if (transports.includes('polling')) {
    // long-polling first, then the upgrade: every request of the connection reached one server
    await new Promise<void>((resolve) => {
      if (socket.io.engine.transport.name === 'websocket') return resolve();
      socket.io.engine.once('upgrade', () => resolve());
    });
  }
  // a round trip on the open connection, both ways through the proxy
  const serverSocket = [...holder!.io.sockets.sockets.values()].find((each) => each.data.clientId === clientId)!;
  const back = new Promise((resolve) => serverSocket.once('back', resolve));
  const hello = new Promise((resolve) => socket.once('hello', resolve));
  serverSocket.emit('hello', 1);
  expect(await hello).toBe(1);
  socket.emit('back', 2);
  expect(await back).toBe(2);
  expect(holder!.supervisor.get(clientId)?.state).toBe('connected');
}

describe('examples/ops/nginx.conf and haproxy.cfg, run in front of the example', () => {
  it('should pass websockets and sticky long-polling through nginx', async () => {
    const servers = await twoServers();
    const dir = tempDir();
    const port = await freePort();
    const snippet = withPorts('nginx.conf', [/listen 80;/, `listen 127.0.0.1:${port};`], servers.map(portOf));
    const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} warn;`,
        // as root, workers would switch to nobody, who cannot write into the test's temp dir
        process.getuid?.() === 0 ? 'user root;' : '',
        'events { worker_connections 256; }',
        'http {',
        `access_log ${join(dir, 'access.log')};`,
        ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n'),
        snippet,
        '}',
      ].join('\n'),
    );
    await runProxy('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], port);
    const proxy = `http://127.0.0.1:${port}`;
    expect((await fetch(`${proxy}/readyz`)).status).toBe(200);
    await throughProxy(proxy, servers, ['websocket']);
    await throughProxy(proxy, servers, ['polling', 'websocket']);
    // both went through nginx
    const access = readFileSync(join(dir, 'access.log'), 'utf8');
    expect(access).toContain('/socket.io/');
  });

  it('should pass websockets and sticky long-polling through HAProxy', async () => {
    const servers = await twoServers();
    const dir = tempDir();
    const port = await freePort();
    const config = withPorts('haproxy.cfg', [/bind :80/, `bind 127.0.0.1:${port}`], servers.map(portOf));
    writeFileSync(join(dir, 'haproxy.cfg'), config);
    await runProxy('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], port);
    const proxy = `http://127.0.0.1:${port}`;
    expect((await fetch(`${proxy}/readyz`)).status).toBe(200);
    await throughProxy(proxy, servers, ['websocket']);
    await throughProxy(proxy, servers, ['polling', 'websocket']);
  });
});

describe('docs/operations.md', () => {
  it('should show the example files as they are in examples/ops (the files these tests run and read)', () => {
    const doc = readFileSync('docs/operations.md', 'utf8');
    for (const [lang, file] of [
      ['nginx', 'nginx.conf'],
      ['haproxy', 'haproxy.cfg'],
      ['yaml', 'kubernetes.yaml'],
      ['dockerfile', 'Dockerfile'],
    ] as const) {
      const block = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(doc)?.[1];
      expect(block, `a ${lang} block`).toBe(readFileSync(`${OPS}/${file}`, 'utf8'));
    }
  });
});
