import { mkdirSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Server } from 'socket.io';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../src/index.js';
import { type Inspector, mountInspector } from '../src/inspector/index.js';
import { launchChromium } from './helpers/browser.js';
import { once } from './helpers/io.js';

// The inspector page in Debian's chromium, measured: where its boxes are, how big its text is,
// what a viewer can read and do. Against a real server with real socket.io-client clients.

const LONG_MESSAGE =
  'the session store refused the write because the connection pool was exhausted after 30 s; ' +
  'every later write for this client was dropped and will be retried by the nightly job, see runbook 42';

let browser: Browser;
let http: HttpServer;
let io: Server;
let supervisor: Supervisor;
let inspector: Inspector;
let base: string;
const sockets: ClientSocket[] = [];

/** A client connected from a real socket.io-client socket, with `data` and a long tab id. */
async function connectedClient(data: unknown, tabId: string): Promise<string> {
  const { clientId, token } = supervisor.register({ data, tabId });
  const socket = connectClient(base, { forceNew: true, transports: ['websocket'], auth: { clientId, token, tabId } });
  sockets.push(socket);
  await once(socket, 'connect');
  return clientId;
}

beforeAll(async () => {
  browser = await launchChromium();
  http = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  io = new Server(http);
  supervisor = createSupervisor({
    pruneInterval: 0,
    rateLimit: false,
    reconnectTimeout: 60_000,
    hooks: {
      onDelete: (client) => {
        if ((client.data as { failing?: boolean } | null)?.failing) throw new Error(LONG_MESSAGE);
      },
    },
  });
  supervisor.attach(io);
  inspector = mountInspector(supervisor, { io, httpServer: http, allowWrites: true, flushInterval: 50 });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  for (let i = 0; i < 6; i++) {
    await connectedClient(
      { user: `user-${i}@example.com`, plan: 'team', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131' },
      `tab-${i}-${'f'.repeat(40)}`,
    );
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const socket of sockets) socket.disconnect();
  inspector?.close();
  await supervisor?.close();
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

async function openInspector(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  await page.goto(inspector.url(base));
  await page.waitForSelector('#connection.live');
  await page.waitForSelector('#rows tr');
  return page;
}

/** Every box of the clients panel that leaves it, and every scroll container hiding part of the table. */
function clippedInClientsPanel(page: Page) {
  return page.evaluate(() => {
    const panel = document.querySelector('.panel.clients')!;
    const box = panel.getBoundingClientRect();
    const problems: string[] = [];
    for (const node of Array.from(panel.querySelectorAll('th, td, button, input, code'))) {
      const r = node.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
        problems.push(`${node.tagName.toLowerCase()} "${node.textContent?.slice(0, 20)}" at ${r.left}–${r.right}`);
      }
    }
    for (const node of [panel, ...Array.from(panel.querySelectorAll('*'))]) {
      if (node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).overflowX !== 'visible') {
        // text cut with an ellipsis on purpose (data, tab), readable whole in its cell's title, is
        // fine; a container that hides columns is not
        const cell = node.closest('td, th');
        if (getComputedStyle(node).textOverflow === 'ellipsis' && cell?.getAttribute('title')) continue;
        problems.push(`${node.tagName.toLowerCase()}.${node.className} hides ${node.scrollWidth - node.clientWidth}px`);
      }
    }
    // the client id is the row's name: it is shown whole
    for (const code of Array.from(panel.querySelectorAll('#rows tr td:first-child code'))) {
      const cell = code.parentElement!.getBoundingClientRect();
      if (code.getBoundingClientRect().right > cell.right + 0.5 || code.scrollWidth > code.clientWidth)
        problems.push(`client id ${code.textContent} cut at ${cell.right}`);
    }
    return problems;
  });
}

describe('inspector page in a real browser', () => {
  it('should open again without ?token= once opened with it (the cookie reaches the live connection)', async () => {
    const context = await browser.newContext();
    const first = await openInspector(context);
    await first.close();
    const again = await context.newPage();
    again.setDefaultTimeout(5000);
    const response = await again.goto(`${base}/supervisor/`);
    expect(response?.status()).toBe(200);
    await again.waitForSelector('#connection.live', { timeout: 5000 });
    await again.waitForSelector('#rows tr');
    await context.close();
  });

  for (const [width, scale] of [
    [1280, 1],
    [1440, 1],
    [1440, 2],
    [1920, 1],
  ] as const) {
    it(`should keep the clients table inside its panel at ${width} px (${scale}×)`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: scale });
      const page = await openInspector(context);
      await page.click('#rows tr');
      await page.waitForFunction(() => document.getElementById('selected-label')?.textContent?.includes('connected'));
      expect(await clippedInClientsPanel(page)).toEqual([]);
      if (scale === 1 && width !== 1440) {
        mkdirSync('test-results', { recursive: true });
        await page.screenshot({ path: `test-results/inspector-${width}.png`, fullPage: true });
      }
      await context.close();
    });
  }

  it('should draw the statechart with text of at least 11 px, each label inside its state at 2×', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 2 });
    const page = await openInspector(context);
    await page.waitForSelector('#chart svg text');
    const report = await page.evaluate(() => {
      const svg = document.querySelector('#chart svg')!;
      const texts = Array.from(svg.querySelectorAll('text'));
      const sizes = texts.map((t) => ({
        text: t.textContent,
        px: Number.parseFloat(getComputedStyle(t).fontSize) * (t.getScreenCTM()?.a ?? 1),
      }));
      const boxes = Array.from(svg.querySelectorAll('rect'))
        .map((r) => r.getBoundingClientRect())
        .filter((r) => r.width > 60 && r.height > 20);
      const spills: string[] = [];
      for (const t of texts) {
        const r = t.getBoundingClientRect();
        const cx = r.left + r.width / 2;
        const cy = r.top + r.height / 2;
        const owner = boxes.find((b) => cx > b.left && cx < b.right && cy > b.top && cy < b.bottom);
        if (!owner) continue;
        if (r.left < owner.left || r.right > owner.right || r.top < owner.top || r.bottom > owner.bottom) {
          spills.push(`"${t.textContent}" ${r.left}–${r.right} outside ${owner.left}–${owner.right}`);
        }
      }
      return { small: sizes.filter((s) => s.px < 11), spills, count: texts.length };
    });
    expect(report.count).toBeGreaterThan(10);
    expect(report.small).toEqual([]);
    expect(report.spills).toEqual([]);
    await context.close();
  });

  it('should let a long log line be read whole', async () => {
    const clientId = await connectedClient({ failing: true }, 'tab-failing');
    supervisor.delete(clientId, 'manual');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await openInspector(context);
    const line = page.locator('#log li', { hasText: 'onDelete failed' }).first();
    await line.waitFor();
    expect(await line.textContent()).toContain(LONG_MESSAGE);
    const fit = await line.evaluate((li) => {
      const log = document.getElementById('log')!.getBoundingClientRect();
      const r = li.getBoundingClientRect();
      return { hidden: li.scrollWidth - li.clientWidth, inside: r.left >= log.left && r.right <= log.right + 0.5 };
    });
    expect(fit).toEqual({ hidden: 0, inside: true });
    await context.close();
  });

  it("should show times in the viewer's zone and say which", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Asia/Kolkata' });
    const page = await openInspector(context);
    await page.waitForSelector('#log li time');
    expect(await page.textContent('#log-zone')).toMatch(/UTC\+05:30/);
    const { datetime, text } = await page.$eval('#log li time', (t) => ({
      datetime: t.getAttribute('datetime')!,
      text: t.textContent!.trim(),
    }));
    const expected = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Kolkata',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(datetime));
    expect(text.startsWith(expected)).toBe(true);
    await context.close();
  });

  it('should ask before deleting, and say what a prune did', async () => {
    const clientId = await connectedClient({ user: 'to-delete' }, 'tab-delete');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await openInspector(context);
    const button = page.locator(`tr[data-client="${clientId}"] button.danger`);
    await button.click();
    // armed, not sent: the client is still there
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-client="${id}"] button.danger`)?.textContent?.includes('confirm'),
      clientId,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(supervisor.get(clientId)?.state).toBe('connected');
    await button.click();
    await page.waitForSelector(`tr[data-client="${clientId}"]`, { state: 'detached' });
    expect(supervisor.get(clientId)).toBeUndefined();
    await page.waitForFunction(() => /deleted/.test(document.getElementById('status')?.textContent ?? ''));

    await page.click('#prune');
    await page.waitForFunction(() => /prune/i.test(document.getElementById('status')?.textContent ?? ''));
    expect(await page.textContent('#status')).toMatch(/prune.*0 clients|nothing to prune/i);
    await context.close();
  });

  it("should show each client's data and find clients by it", async () => {
    const clientId = await connectedClient({ user: 'alice@example.org', plan: 'enterprise' }, 'tab-alice');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await openInspector(context);
    await page.fill('#filter', 'alice@example');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 1);
    expect(await page.getAttribute('#rows tr', 'data-client')).toBe(clientId);
    expect(await page.textContent('#rows tr')).toContain('alice@example.org');
    // selected, its data can be read whole
    await page.click('#rows tr');
    await page.waitForSelector('#details');
    expect(await page.textContent('#details')).toContain('"plan":"enterprise"');
    await context.close();
  });
});
