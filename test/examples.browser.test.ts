import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressExample, startExpressExample } from '../examples/express-ssr/server.js';
import { type SpaExample, startSpaExample } from '../examples/spa/server.js';
import { launchChromium } from './helpers/browser.js';

// The examples' pages in Debian's chromium: the browser helper loaded from the package's
// dist/client directory as the examples serve it, against the examples' real servers.

let browser: Browser;
let ssr: ExpressExample;
let spa: SpaExample;

beforeAll(async () => {
  browser = await launchChromium();
  ssr = await startExpressExample({ port: 0 });
  spa = await startSpaExample({ port: 0 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await ssr?.close();
  await spa?.close();
});

describe('examples in a real browser', () => {
  it('should connect the server-rendered page, and offer a reload once its client is deleted', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(5000);
    await page.goto(`${ssr.url}/?user=ada`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
    const [view] = ssr.supervisor.list();
    expect(view).toMatchObject({ state: 'connected', data: { user: 'ada' } });
    await page.click('#add');
    await page.waitForFunction(() => document.getElementById('cart')?.textContent?.startsWith('item-'));
    ssr.supervisor.delete(view!.clientId);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'deleted');
    expect(await page.isVisible('#reload')).toBe(true);
    await page.click('#reload');
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
    expect(ssr.supervisor.list().map((c) => c.clientId)).not.toContain(view!.clientId);
    await page.close();
  });

  it('should connect the single-page app as a client made by the server', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(5000);
    await page.goto(spa.url);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
    const clientId = (await page.textContent('#client'))!;
    expect(spa.supervisor.get(clientId)?.state).toBe('connected');
    await page.click('#increment');
    await page.waitForFunction(() => document.getElementById('count')?.textContent === '1');
    await page.close();
  });
});
