import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../demo/app.js';
import { launchChromium } from './helpers/browser.js';

// supervisor.to(clientId).emit() to the demo page in Debian's chromium: the browser helper as the
// demo serves it, a real socket.io server, a connection cut while messages are on their way.

let browser: Browser;
let demo: Demo;

beforeAll(async () => {
  browser = await launchChromium();
  demo = await startDemo({ port: 0, reconnectTimeout: 10_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

describe('messages to a client in a real browser', () => {
  it('should show every note once and in order across a dropped connection', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(demo.url);
    await page.waitForSelector('#state.connected');
    const clientId = (await page.textContent('#client-id'))!.trim();
    const note = (n: number) => demo.supervisor.to(clientId).emit('note', `note ${n}`);
    for (let n = 1; n <= 20; n += 1) note(n);
    // the connection drops while notes are on their way; more are sent while the page is away
    await page.evaluate(() =>
      (
        window as unknown as { __demo: { socket: { io: { engine: { close(): void } } } } }
      ).__demo.socket.io.engine.close(),
    );
    for (let n = 21; n <= 40; n += 1) note(n);
    await page.waitForSelector('#state.connected');
    await page.waitForFunction(() => document.querySelectorAll('#notes li').length >= 42);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const notes = await page.$$eval('#notes li', (items) => items.map((item) => item.textContent));
    const numbered = notes.filter((text) => text?.startsWith('note '));
    expect(numbered).toEqual(Array.from({ length: 40 }, (_, i) => `note ${i + 1}`));
    // and the demo's own notes, one per connect: welcome, then welcome back after the drop
    expect(notes.filter((text) => text?.startsWith('welcome'))).toEqual(['welcome', 'welcome back']);
    await page.close();
  });
});
