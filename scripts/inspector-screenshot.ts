// Regenerates docs/inspector.png: the demo with a few clients in every state, the inspector at
// 1440 px with one client selected. Run: npm run build && npx tsx scripts/inspector-screenshot.ts
import { chromium } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { startDemo } from '../demo/app.js';

const demo = await startDemo({ port: 0, reconnectTimeout: 60_000 });
const sockets: Socket[] = [];
const agents = ['Firefox/133.0 (X11; Linux x86_64)', 'Chrome/131.0 (Macintosh)', 'Safari/605.1 (iPhone)'];
for (let i = 0; i < 7; i++) {
  const tabId = `tab-${(i * 7919).toString(16).padStart(6, '0')}`;
  const { clientId, token } = demo.supervisor.register({ tabId, data: { userAgent: agents[i % agents.length]! } });
  if (i === 6) continue; // one page that never opened its socket: handshaking
  const socket = io(demo.url, { forceNew: true, transports: ['websocket'], auth: { clientId, token, tabId } });
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', () => resolve(null)));
}
sockets[1]!.disconnect(); // a closed tab: disconnected, with its countdown
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await page.goto(demo.inspectorUrl);
await page.waitForSelector('#connection.live');
await page.waitForSelector('#rows tr');
await page.click('#rows tr:nth-child(2)');
await page.waitForTimeout(500);
await page.screenshot({ path: 'docs/inspector.png', fullPage: true });
await browser.close();
for (const socket of sockets) socket.disconnect();
await demo.close();
console.log('docs/inspector.png written');
