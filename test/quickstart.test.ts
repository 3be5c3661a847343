import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './cluster/redisServer.js';

// The README's quick start as a new user runs it: the package packed as npm publishes it
// (`npm pack`, dist/ already built), installed with socket.io and socket.io-client in an empty
// directory outside the repository (from npm's cache when it has them), the README's two code
// blocks written as they are, the server started with node and the page run in node (the test
// plays the browser only by giving it a `location`, as a page served by that server has).

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const app = mkdtempSync(join(realpathSync(tmpdir()), 'sup-quickstart-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(app, { recursive: true, force: true });
});

/** The ```js blocks under README's "Quick start" heading, in order. */
function quickStartBlocks(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Quick start\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Quick start\n') + 1),
  );
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** A child process whose output is collected; `until(pattern)` waits for it to appear. */
function start(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, args, {
    cwd: app,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const waiting = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of [...waiting]) check();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return {
    child,
    output: () => output,
    until(pattern: RegExp, within = 15_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`no ${pattern} within ${within} ms in:\n${output}`));
        }, within);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
      });
    },
  };
}

describe("the README's quick start", () => {
  it('should work from the packed package installed in an empty directory', async () => {
    const blocks = quickStartBlocks();
    expect(blocks).toHaveLength(2);
    const [server, page] = blocks as [string, string];

    // what npm would publish, installed as a user installs it (no link to this repository)
    await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', app], { cwd: resolve('.') });
    const tarball = readdirSync(app).find((name) => name.endsWith('.tgz'))!;
    expect(tarball).toMatch(/^socket\.io-supervisor-\d+\.\d+\.\d+\.tgz$/);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'quickstart', private: true, type: 'module' }));
    await run(
      npm,
      ['install', `./${tarball}`, 'socket.io@^4.8', 'socket.io-client@^4.8'].concat([
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=error',
      ]),
      { cwd: app },
    );
    const installed = join(app, 'node_modules', 'socket.io-supervisor');
    expect(realpathSync(installed)).toBe(installed);
    expect(readdirSync(installed).sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist',
      'inspector-page',
      'package.json',
      'src',
    ]);

    writeFileSync(join(app, 'server.mjs'), server);
    writeFileSync(join(app, 'page.mjs'), page);
    // the one thing a browser has that node does not: the page's address
    writeFileSync(join(app, 'browser.mjs'), 'globalThis.location = new URL(process.env.PAGE_URL);\n');

    const port = await freePort();
    const serverProcess = start(['server.mjs'], { PORT: String(port) });
    const pageProcess = start(['--import', './browser.mjs', 'page.mjs'], { PAGE_URL: `http://127.0.0.1:${port}/` });
    await pageProcess.until(/this page is connected/);
    await serverProcess.until(/ connected\n/);
    const clientId = serverProcess.output().match(/^(\S+) connected$/m)![1]!;
    expect(pageProcess.output()).toMatch(/this page is connecting\nthis page is connected/);

    // the page goes away without a word: after the 3 s grace period the client is deleted, once.
    // Killed on websocket (or with a long-poll open), the server sees the socket close at once;
    // killed in the moment between two polls or mid-upgrade, nothing is open to close, and only
    // socket.io's heartbeat finds it gone (pingInterval 25 s + pingTimeout 20 s): wait for that.
    pageProcess.child.kill('SIGKILL');
    await serverProcess.until(/deleted: reconnect-timeout/, 60_000);
    expect(serverProcess.output().match(/deleted:/g)).toHaveLength(1);
    expect(serverProcess.output()).toContain(`${clientId} deleted: reconnect-timeout`);
    serverProcess.child.kill('SIGTERM');
  }, 150_000);
});
