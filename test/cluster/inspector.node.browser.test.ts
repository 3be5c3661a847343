import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Inspector, mountInspector } from '../../src/inspector/index.js';
import { launchChromium } from '../helpers/browser.js';
import type { HookCall } from './nodes.js';
import { startNode, type TestNode } from './nodes.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// The inspector page of a cluster node, in chromium: the node machine's chart beside the client's,
// with the node's current state lit and named.

let redis: RedisServer;
let node: TestNode;
let inspector: Inspector;
let browser: Browser;

beforeAll(async () => {
  redis = await startRedisServer();
  node = await startNode('web-1', [] as HookCall[], { redis: redis.url, keyPrefix: 'inspnode' });
  inspector = mountInspector(node.supervisor, {
    io: node.io,
    token: 't0ken',
    flushInterval: 50,
    refreshInterval: 200,
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  inspector?.close();
  await node?.close();
  await redis?.dispose();
});

describe('the inspector page of a cluster node', () => {
  it('should draw the node machine with its current state, beside the client machine', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.setDefaultTimeout(5000);
    await page.goto(inspector.url(node.url));
    await page.waitForSelector('#connection.live');
    await page.waitForSelector('#node-chart svg');
    const drawn = await page.evaluate(() => ({
      panelShown: !(document.getElementById('node-panel') as HTMLElement).hidden,
      label: document.getElementById('node-label')!.textContent,
      states: Array.from(document.querySelectorAll('#node-chart svg text')).map((t) => t.textContent ?? ''),
      clientChart: document.querySelectorAll('#chart svg').length,
    }));
    expect(drawn.panelShown).toBe(true);
    expect(drawn.label).toContain('web-1 · serving');
    expect(drawn.label).toContain('close → leaving from any state');
    for (const state of ['joining', 'serving', 'suspect', 'fenced', 'rejoining', 'leaving', 'closed']) {
      expect(drawn.states.some((text) => text.startsWith(state))).toBe(true);
    }
    expect(drawn.states.some((text) => text.includes('timer: leaseEndIn'))).toBe(true);
    // its self-transitions are no socket swaps (that note is the client machine's)
    expect(drawn.states.filter((text) => text.includes('socket swap'))).toEqual([]);
    expect(drawn.clientChart).toBe(1);
    await page.close();
  }, 30_000);

  it('should page through the cluster’s clients read from Redis, and find one by the start of its id', async () => {
    const ids = (await Promise.all(Array.from({ length: 120 }, () => node.supervisor.register()))).map(
      (r) => r.clientId,
    );
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.setDefaultTimeout(5000);
    await page.goto(inspector.url(node.url));
    await page.waitForSelector('#connection.live');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length >= 50);
    // pages are not numbered (Redis keeps no count of a filter's matches): page 1, 2, …, the last
    expect(await page.textContent('#page')).toBe('page 1');
    expect(await page.isDisabled('#prev')).toBe(true);
    const shown = new Set<string>();
    const onScreen = () => page.$$eval('#rows tr', (rows) => rows.map((row) => row.getAttribute('data-client') ?? ''));
    let screen = await onScreen();
    for (const id of screen) shown.add(id);
    for (let n = 2; !(await page.isDisabled('#next')); n++) {
      await page.click('#next');
      // the label changes at the click, the rows when the page's answer arrives: wait for both
      await page.waitForFunction(
        ([label, first]) =>
          document.getElementById('page')?.textContent?.startsWith(label) &&
          document.querySelector('#rows tr')?.getAttribute('data-client') !== first,
        [`page ${n}`, screen[0]] as const,
      );
      screen = await onScreen();
      for (const id of screen) shown.add(id);
    }
    expect(await page.textContent('#page')).toMatch(/\(last\)$/);
    expect([...shown].sort()).toEqual([...ids].sort());
    await page.click('#prev');
    await page.waitForFunction(() => !document.getElementById('page')?.textContent?.includes('last'));
    // the start of an id finds its clients, whichever page they were on
    const target = ids[77]!;
    await page.fill('#filter', target.slice(0, 6));
    await page.waitForFunction((id) => {
      const rows = Array.from(document.querySelectorAll('#rows tr'));
      return rows.length > 0 && rows.every((row) => row.getAttribute('data-client')?.startsWith(id.slice(0, 6)));
    }, target);
    expect(await onScreen()).toContain(target);
    // by state: none connected
    await page.fill('#filter', '');
    await page.selectOption('#state-filter', 'connected');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 0);
    expect(await page.textContent('#client-count')).toMatch(/^0 on this page of 120/);
    await page.close();
  }, 30_000);
});
