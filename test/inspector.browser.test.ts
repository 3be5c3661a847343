import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../demo/app.js';
import { launchChromium } from './helpers/browser.js';
import { once } from './helpers/io.js';

// The inspector in a real browser (Debian's chromium, driven by playwright-core) against the
// demo server: real socket.io, real socket.io-client sockets, real timers.

let browser: Browser;
let demo: Demo;

beforeAll(async () => {
  browser = await launchChromium();
  // room for the 10,000-client test below (the demo's own default is 1,000)
  demo = await startDemo({ port: 0, reconnectTimeout: 1500, maxClients: 20_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

describe('inspector in a real browser', () => {
  it('should refuse access without the token', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${demo.url}/supervisor/`);
    expect(response?.status()).toBe(401);
    expect(await page.textContent('body')).toMatch(/missing or wrong token/);
    await page.close();
  });

  it('should show a client connected, then disconnected with a countdown, then gone with the delete counter up', async () => {
    const inspector = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await inspector.goto(demo.inspectorUrl);
    await inspector.waitForSelector('#connection.live');

    // a demo page in another tab is a real client: it connects with the browser helper
    const tab = await browser.newPage();
    await tab.goto(demo.url);
    await tab.waitForSelector('#state.connected');
    const clientId = (await tab.textContent('#client-id'))!.trim();
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const row = `tr[data-client="${clientId}"]`;
    await inspector.waitForSelector(`${row} .state.connected`);

    // select it: the statechart highlights its state, its own log shows its events
    await inspector.click(row);
    await inspector.waitForFunction(
      (id) => document.getElementById('selected-label')?.textContent?.includes(`${id} · connected`),
      clientId,
    );

    // a duplicate disconnect shows up as an ignored event with its why
    const socketId = demo.supervisor.get(clientId)!.socketId!;
    demo.supervisor.actor.send({
      type: 'socket.disconnect',
      clientId,
      socketId: 'stale-socket',
      reason: 'transport close',
    });
    await inspector.waitForFunction(() => document.getElementById('log')?.textContent?.includes('(stale-socket)'));

    // the tab closes: disconnected, with a countdown to deletion
    await tab.close();
    await inspector.waitForSelector(`${row} .state.disconnected`);
    await inspector.waitForSelector(`${row} .countdown`);
    const countdown = (await inspector.textContent(`${row} .countdown`))!;
    expect(Number.parseFloat(countdown)).toBeGreaterThan(0);
    expect(Number.parseFloat(countdown)).toBeLessThanOrEqual(1.5);
    demo.supervisor.actor.send({ type: 'socket.disconnect', clientId, socketId, reason: 'transport close' });
    await inspector.waitForFunction(() => document.getElementById('log')?.textContent?.includes('(not-connected)'));
    mkdirSync('test-results', { recursive: true });
    await inspector.screenshot({ path: 'test-results/inspector.png' });

    // after the grace period it is gone and the delete counter rose
    await inspector.waitForSelector(row, { state: 'detached', timeout: 10_000 });
    await inspector.waitForFunction(() =>
      document.getElementById('counters')?.textContent?.includes('reconnect-timeout'),
    );
    expect(await inspector.textContent('#counters')).toMatch(/reconnect-timeout\s*1/);
    await inspector.close();
  }, 60_000);

  it("should export a client's recorded history as a vitest file that replays it and passes", async () => {
    const { io } = await import('socket.io-client');
    const inspector = await browser.newPage({ acceptDownloads: true });
    await inspector.goto(demo.inspectorUrl);
    await inspector.waitForSelector('#connection.live');
    const { clientId, token } = demo.supervisor.register();
    const socket = io(demo.url, { forceNew: true, transports: ['websocket'], auth: { clientId, token } });
    await once(socket, 'connect');
    const row = `tr[data-client="${clientId}"]`;
    await inspector.click(`${row} td:nth-child(1)`);
    // a life worth a regression test: a drop, a reconnect, a duplicate disconnect, a kick
    socket.io.reconnection(false);
    socket.io.engine.close();
    await inspector.waitForSelector(`${row} .state.disconnected`);
    socket.connect();
    await inspector.waitForSelector(`${row} .state.connected`);
    demo.supervisor.send({ type: 'socket.disconnect', clientId, socketId: 'gone-socket', reason: 'transport close' });
    demo.supervisor.delete(clientId, 'kicked');
    await inspector.waitForSelector(row, { state: 'detached' });
    await inspector.waitForFunction(() => document.getElementById('log')?.textContent?.includes('deleted (kicked)'));
    const [download] = await Promise.all([inspector.waitForEvent('download'), inspector.click('#export')]);
    expect(download.suggestedFilename()).toBe(`client-${clientId.slice(0, 8)}.test.ts`);
    mkdirSync('test-results', { recursive: true });
    const dir = mkdtempSync(join(resolve('test-results'), 'export-'));
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const source = readFileSync(file, 'utf8');
    expect(source).toContain("from 'socket.io-supervisor/testing'");
    expect(source).toContain('kicked');
    // run it as a user would: vitest, in a project of its own
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
        '--reporter=json',
      ],
      { cwd: dir, env },
    );
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { numPassedTests: number; numFailedTests: number };
    expect(report).toMatchObject({ numFailedTests: 0 });
    expect(report.numPassedTests).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
    socket.disconnect();
    await inspector.close();
  }, 60_000);

  it('should show a client of a plain socket.io-client in the table', async () => {
    const { io } = await import('socket.io-client');
    const { clientId, token } = demo.supervisor.register();
    const socket = io(demo.url, { forceNew: true, transports: ['websocket'], auth: { clientId, token } });
    await once(socket, 'connect');
    const inspector = await browser.newPage();
    await inspector.goto(demo.inspectorUrl);
    await inspector.waitForSelector(`tr[data-client="${clientId}"] .state.connected`);

    // its delete button, once confirmed, deletes it on the server: the socket is disconnected
    // from the server side
    const disconnected = once(socket, 'disconnect');
    await inspector.click(`tr[data-client="${clientId}"] button.danger`);
    await inspector.waitForSelector(`tr[data-client="${clientId}"] button.danger.armed`);
    await inspector.click(`tr[data-client="${clientId}"] button.danger`);
    expect(await disconnected).toBe('io server disconnect');
    await inspector.waitForSelector(`tr[data-client="${clientId}"]`, { state: 'detached' });
    expect(demo.supervisor.get(clientId)).toBeUndefined();
    await inspector.waitForFunction(() => /inspector\s*1/.test(document.getElementById('counters')?.textContent ?? ''));
    socket.disconnect();
    await inspector.close();
  });

  it('should page, filter and sort 10,000 clients, and drop them all when they are deleted', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => demo.supervisor.register({ tabId: `bulk-${i}` }).clientId);
    const inspector = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await inspector.goto(demo.inspectorUrl);
    await inspector.waitForFunction(() => document.getElementById('client-count')?.textContent === '10000 of 10000');
    // paged: 50 rows in the DOM, whatever the number of clients
    expect(await inspector.locator('#rows tr').count()).toBe(50);
    expect(await inspector.textContent('#page')).toBe('1 / 200');
    await inspector.click('#next');
    await inspector.waitForFunction(() => document.getElementById('page')?.textContent === '2 / 200');
    expect(await inspector.locator('#rows tr').count()).toBe(50);
    // filtered by a tab id: one row
    await inspector.fill('#filter', 'bulk-4242');
    await inspector.waitForFunction(() => document.getElementById('client-count')?.textContent === '1 of 10000');
    expect(await inspector.getAttribute('#rows tr', 'data-client')).toBe(ids[4242]);
    // sorted by client id, ascending: the first row is the smallest id
    await inspector.fill('#filter', '');
    await inspector.click('th[data-sort="clientId"]');
    await inspector.waitForFunction(() =>
      document.querySelector('th[data-sort="clientId"]')?.classList.contains('sorted'),
    );
    const sortedIds = [...ids].sort();
    const first = async () => inspector.getAttribute('#rows tr', 'data-client');
    const ends = [sortedIds[0], sortedIds.at(-1)];
    // the header is marked at the click, the rows come with the server's answer: wait for them
    // (a row that is neither end after the timeout fails here)
    await inspector.waitForFunction(
      (endIds) => endIds.includes(document.querySelector('#rows tr')?.getAttribute('data-client') ?? ''),
      ends,
    );
    expect(ends).toContain(await first());
    if ((await first()) !== sortedIds[0]) {
      await inspector.click('th[data-sort="clientId"]'); // the other direction
      await inspector.waitForFunction(
        (id) => document.querySelector('#rows tr')?.getAttribute('data-client') === id,
        sortedIds[0],
      );
    }
    // all deleted at once: the table empties
    for (const id of ids) demo.supervisor.delete(id);
    await inspector.waitForFunction(
      () => document.getElementById('client-count')?.textContent === '0 of 0',
      undefined,
      {
        timeout: 20_000,
      },
    );
    expect(await inspector.locator('#rows tr').count()).toBe(0);
    await inspector.close();
  }, 60_000);
});
