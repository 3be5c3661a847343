import { afterEach, describe, expect, it } from 'vitest';
import { type Demo, type DemoOptions, startDemo } from '../demo/app.js';

// The demo server over real HTTP on loopback: what an anonymous visitor can read, what a page
// view costs, what /metrics says it is.

let demo: Demo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

async function start(options: DemoOptions = {}): Promise<Demo> {
  demo = await startDemo({ port: 0, ...options });
  return demo;
}

describe('demo server', () => {
  it("should list clients and their data only to whoever holds the inspector's token", async () => {
    const { url, inspector, supervisor } = await start();
    supervisor.register({ data: { userAgent: 'secret-agent' } });
    const anonymous = await fetch(`${url}/supervisor/clients`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('secret-agent');
    const bearer = await fetch(`${url}/supervisor/clients`, {
      headers: { authorization: `Bearer ${inspector.token}` },
    });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toContain('secret-agent');
    // the public page gets counts, nothing per client
    const counts = await (await fetch(`${url}/counts`)).json();
    expect(counts).toEqual({ handshaking: 1, connected: 0, disconnected: 0, total: 1 });
  });

  it('should bound the clients page views make, per address and in all', async () => {
    const { url, supervisor } = await start({ pageViewsPerMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${url}/`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const limited = await fetch(`${url}/`);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(supervisor.list()).toHaveLength(5);
  });

  it('should refuse a page view once the demo has maxClients clients', async () => {
    const { url, supervisor } = await start({ maxClients: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/`)).status);
    expect(statuses).toEqual([200, 200, 200, 503]);
    expect(supervisor.list()).toHaveLength(3);
  });

  it("should serve /metrics with prom-client's content type, one charset", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    const type = response.headers.get('content-type')!;
    expect(type.match(/charset=/g)).toHaveLength(1);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    expect(await response.text()).toContain('socketio_supervisor_clients');
  });

  it('should serve the browser helper with the module it imports', async () => {
    const { url } = await start();
    const index = await fetch(`${url}/client/index.js`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain("from './protocol.js'");
    expect((await fetch(`${url}/client/protocol.js`)).status).toBe(200);
    expect((await fetch(`${url}/client/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/client/index.d.ts`)).status).toBe(404);
  });
});
