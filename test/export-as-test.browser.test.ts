import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import type { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../demo/app.js';
import { type ExpressExample, startExpressExample } from '../examples/express-ssr/server.js';
import { type SpaExample, startSpaExample } from '../examples/spa/server.js';
// the examples load the package as it ships (dist/), so their inspectors come from it too
import { type Inspector, mountInspector } from 'socket.io-supervisor/inspector';
import { launchChromium } from './helpers/browser.js';

// "Export as test" for the clients real pages make: the demo's page, the server-rendered page of
// the Express example and the single-page app, each driven in Debian's chromium with the browser
// helper (which sends its tab id at every handshake), exported through the inspector's button,
// and the three downloaded files run by vitest as a user would run them.

interface App {
  name: string;
  url: string;
  io: Server;
  /** The namespace the app supervises. */
  nsp: string;
  supervisor: {
    get(clientId: string): { socketId: string | null } | undefined;
    delete(id: string, r?: string): boolean;
  };
  inspector: Inspector;
}

let browser: Browser;
let demo: Demo;
let ssr: ExpressExample;
let spa: SpaExample;
const mounted: Inspector[] = [];
const dir = resolve('test-results', `export-pages-${process.pid}`);

beforeAll(async () => {
  browser = await launchChromium();
  demo = await startDemo({ port: 0, reconnectTimeout: 60_000 });
  ssr = await startExpressExample({ port: 0 });
  spa = await startSpaExample({ port: 0 });
  for (const example of [ssr, spa]) {
    mounted.push(mountInspector(example.supervisor, { io: example.io, httpServer: example.http, flushInterval: 50 }));
  }
  mkdirSync(dir, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const inspector of mounted) inspector.close();
  await demo?.close();
  await ssr?.close();
  await spa?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The server drops the client's transport (as a proxy or a network would): the page reconnects by itself. */
function dropTransport(app: App, clientId: string): void {
  const socketId = app.supervisor.get(clientId)?.socketId;
  const socket = socketId ? app.io.of(app.nsp).sockets.get(socketId) : undefined;
  if (!socket) throw new Error(`${app.name}: client ${clientId} has no socket to drop`);
  socket.conn.close();
}

/** Waits until the inspector shows the client's row in `state` (`gone`: deleted, row removed). */
async function rowIn(inspector: Page, clientId: string, state: string): Promise<void> {
  const row = `tr[data-client="${clientId}"]`;
  if (state === 'gone') await inspector.waitForSelector(row, { state: 'detached', timeout: 10_000 });
  else await inspector.waitForSelector(`${row} .state.${state}`, { timeout: 10_000 });
}

/**
 * Opens the app's inspector, then the app's page; `live` drives the page's client through a life;
 * the inspector's "export as test" button then downloads its history as a test file.
 */
async function exportLife(
  app: App,
  pageUrl: string,
  clientIdOf: (page: Page) => Promise<string>,
  live: (page: Page, inspector: Page, clientId: string) => Promise<void>,
): Promise<string> {
  const inspector = await browser.newPage({ acceptDownloads: true, viewport: { width: 1440, height: 900 } });
  inspector.setDefaultTimeout(10_000);
  await inspector.goto(app.inspector.url(app.url));
  await inspector.waitForSelector('#connection.live');
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
  const clientId = await clientIdOf(page);
  await rowIn(inspector, clientId, 'connected');
  await inspector.click(`tr[data-client="${clientId}"] td:nth-child(1)`);
  await live(page, inspector, clientId);
  if (!page.isClosed()) await page.close();
  const [download] = await Promise.all([inspector.waitForEvent('download'), inspector.click('#export')]);
  const file = join(dir, `${app.name}.test.ts`);
  await download.saveAs(file);
  await inspector.close();
  return readFileSync(file, 'utf8');
}

describe('export as test, for the clients real pages make', () => {
  it('should replay the histories of the demo page, a server-rendered page and a single-page app', async () => {
    const demoApp: App = { name: 'demo', ...demo, nsp: '/', supervisor: demo.supervisor };
    const ssrApp: App = {
      name: 'ssr',
      url: ssr.url,
      io: ssr.io,
      nsp: '/live',
      supervisor: ssr.supervisor,
      inspector: mounted[0]!,
    };
    const spaApp: App = {
      name: 'spa',
      url: spa.url,
      io: spa.io,
      nsp: '/',
      supervisor: spa.supervisor,
      inspector: mounted[1]!,
    };
    const connected = (page: Page) =>
      page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');

    // the demo page: registered by the server without a tab id, which the helper sends at each
    // handshake; a dropped transport and its reconnect, the page's own disconnect and connect, a kick
    const sources: Record<string, string> = {};
    sources.demo = await exportLife(
      demoApp,
      demo.url,
      async (page) => (await page.textContent('#client-id'))!.trim(),
      async (page, inspector, clientId) => {
        dropTransport(demoApp, clientId);
        await rowIn(inspector, clientId, 'disconnected');
        await rowIn(inspector, clientId, 'connected');
        await page.evaluate(() =>
          (window as unknown as { __demo: { socket: { disconnect(): void } } }).__demo.socket.disconnect(),
        );
        await rowIn(inspector, clientId, 'disconnected');
        await page.evaluate(() =>
          (window as unknown as { __demo: { socket: { connect(): void } } }).__demo.socket.connect(),
        );
        await rowIn(inspector, clientId, 'connected');
        await connected(page);
        demo.supervisor.delete(clientId, 'kicked');
        await rowIn(inspector, clientId, 'gone');
      },
    );

    // the Express example's server-rendered page: the tab closes, the client is deleted while it
    // waits for its reconnect
    sources.ssr = await exportLife(
      ssrApp,
      `${ssr.url}/?user=ada`,
      async () => ssr.supervisor.list().find((c) => c.state === 'connected')!.clientId,
      async (page, inspector, clientId) => {
        await page.close();
        await rowIn(inspector, clientId, 'disconnected');
        ssr.supervisor.delete(clientId, 'kicked');
        await rowIn(inspector, clientId, 'gone');
      },
    );

    // the single-page app: its client is made by the server for its first socket
    sources.spa = await exportLife(
      spaApp,
      spa.url,
      async (page) => (await page.textContent('#client'))!.trim(),
      async (page, inspector, clientId) => {
        dropTransport(spaApp, clientId);
        await rowIn(inspector, clientId, 'disconnected');
        await rowIn(inspector, clientId, 'connected');
        await connected(page);
        spa.supervisor.delete(clientId, 'kicked');
        await rowIn(inspector, clientId, 'gone');
      },
    );

    // every page sent a tab id at its handshake, and the recorded events say so
    for (const source of Object.values(sources)) {
      expect(source).toContain("from 'socket.io-supervisor/testing'");
      expect(source).toMatch(/type: 'connected', [^\n]*tabId: '[^']+'/);
      expect(source).toContain("reason: 'kicked'");
    }
    expect(sources.demo).toMatch(/type: 'reconnected'/);

    // run them as a user would: vitest, in a project of its own, the kit from the package
    writeFileSync(join(dir, 'vitest.config.mjs'), "export default { test: { include: ['*.test.ts'] } };\n");
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        resolve('node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        'vitest.config.mjs',
        '--pool=threads',
        '--no-isolate',
        '--maxWorkers=1',
        '--reporter=json',
      ],
      { cwd: dir, env },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      testResults: { name: string; status: string; assertionResults: { failureMessages: string[] }[] }[];
    };
    const outcomes = Object.fromEntries(
      report.testResults.map((file) => [
        file.name.split('/').at(-1)!,
        file.status === 'passed' ? 'passed' : file.assertionResults.flatMap((a) => a.failureMessages).join('\n'),
      ]),
    );
    expect(outcomes).toEqual({ 'demo.test.ts': 'passed', 'ssr.test.ts': 'passed', 'spa.test.ts': 'passed' });
  }, 90_000);
});
