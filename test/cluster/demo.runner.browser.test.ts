import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromiumServer } from '../helpers/browser.js';
import { freePort } from './redisServer.js';

// `npm run demo:cluster` (demo/cluster/run.ts) as a user runs it: its own redis-server, 3 node
// processes and the websocket proxy. A page in chromium lives through a rolling restart, then the
// browser goes away; the runner must still serve, and leave nothing behind when it is stopped.

let runner: ChildProcess | undefined;
let output = '';

afterAll(() => {
  // whatever the test did, no runner is left behind (its own exit handler cleans up after it)
  if (runner && runner.exitCode === null && runner.signalCode === null) runner.kill('SIGKILL');
});

/** Resolves once the runner's output matches `pattern`; rejects if it exits first or after `within` ms. */
function waitForOutput(pattern: RegExp, within = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = output.match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const exited = () => {
      cleanup();
      reject(new Error(`the runner exited while waiting for ${pattern}:\n${output}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${within} ms:\n${output}`));
    }, within);
    const cleanup = () => {
      clearTimeout(timer);
      runner?.stdout?.off('data', check);
      runner?.stderr?.off('data', check);
      runner?.off('exit', exited);
    };
    runner?.stdout?.on('data', check);
    runner?.stderr?.on('data', check);
    runner?.once('exit', exited);
    check();
  });
}

/** Starts `npm run demo:cluster`'s runner on `port`, its output collected in `output`. */
function start(port: number): ChildProcess {
  output = '';
  runner = spawn(process.execPath, ['--import', 'tsx', 'demo/cluster/run.ts'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  runner.stdout!.on('data', collect);
  runner.stderr!.on('data', collect);
  return runner;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the cluster demo runner', () => {
  it('should survive a browser that closes after a rolling restart, and clean up on Ctrl-C', async () => {
    const port = await freePort();
    start(port);
    const [, dir] = await waitForOutput(/AOF in (\S+)\)/);
    await waitForOutput(/Ctrl-C to stop everything/);
    const pids = [...output.matchAll(/web-\d: \S+ {2}pid (\d+)/g)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(3);
    expect(existsSync(dir!)).toBe(true);
    const url = `http://127.0.0.1:${port}/`;

    const server = await launchChromiumServer();
    try {
      const browser = await chromium.connect(server.wsEndpoint());
      const pages = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
      for (const page of pages) {
        page.setDefaultTimeout(20_000);
        await page.goto(url);
        await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
      }
      // a rolling restart while the browser's machine hangs (every chromium process stopped: its
      // sockets read nothing), then the browser dies: the proxy's connections to it are reset
      // (ECONNRESET), as when a laptop drops off the network or a browser crashes
      const group = -server.process().pid!; // chromium leads its own process group
      process.kill(group, 'SIGSTOP');
      runner!.kill('SIGUSR1');
      await waitForOutput(/rolling restart: web-3 back/, 60_000);
      process.kill(group, 'SIGKILL');
      await server.kill();
    } finally {
      await server.close().catch(() => {});
    }

    // the runner still runs and serves
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(runner!.exitCode, output).toBeNull();
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('cluster');

    // stopped, it leaves no node, no redis-server and no data directory behind
    // Ctrl-C (SIGTERM and SIGHUP take the same path)
    const exited = exitOf(runner!);
    runner!.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(dir!)).toBe(false);
    for (const pid of [...pids, ...[...output.matchAll(/back, pid (\d+)/g)].map((match) => Number(match[1]))]) {
      expect(alive(pid), `node pid ${pid}`).toBe(false);
    }
  }, 120_000);

  it('should clean up when it fails (its port taken)', async () => {
    const port = await freePort();
    // the proxy's port is taken: the runner fails after starting redis-server and the nodes
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const failing = start(port);
      const [, failedDir] = await waitForOutput(/AOF in (\S+)\)/);
      expect(await exitOf(failing)).not.toBe(0);
      expect(output).toMatch(/EADDRINUSE/);
      expect(existsSync(failedDir!)).toBe(false);
    } finally {
      taken.close();
    }
  }, 60_000);
});
