import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startHarness } from './helpers/io.js';

// Real-socket churn from a separate client process (see test/fixtures/churn-clients.ts).

const OPS = Number(process.env.CHURN_OPS ?? 20_000);
const CLIENTS = 300;
const GRACE = 300;

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

describe('real-socket churn', () => {
  it(`should survive ${OPS.toLocaleString('en')} random operations on ${CLIENTS} clients and agree with the clients at the end`, async () => {
    const timersAtStart = activeTimers();
    const deletes = new Map<string, number>();
    const h = await startHarness({
      reconnectTimeout: GRACE,
      rateLimit: false,
      autoRegister: true,
      hooks: {
        onDelete: (client) => {
          deletes.set(client.clientId, (deletes.get(client.clientId) ?? 0) + 1);
        },
      },
    });
    // every client ever created, including those the pages get from autoRegister after a reload
    const everyClient = new Set<string>();
    h.supervisor.events$.subscribe((event) => {
      if (event.type === 'registered') everyClient.add(event.clientId);
    });
    const registered = Array.from({ length: CLIENTS }, () => h.supervisor.register());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/churn-clients.ts', h.url, String(GRACE), String(OPS)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    child.stdin.end(JSON.stringify(registered));
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const report = await new Promise<{ connected: string[]; liveSockets: number; counts: Record<string, number> }>(
      (resolve, reject) => {
        let stdout = '';
        const timer = setTimeout(() => reject(new Error(`churn did not finish\n${stderr}`)), 240_000);
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
          if (stdout.includes('\n')) {
            clearTimeout(timer);
            resolve(JSON.parse(stdout.split('\n')[0]!));
          }
        });
        child.on('exit', (code) => reject(new Error(`churn process exited early (${code})\n${stderr}`)));
      },
    );
    try {
      expect(report.counts.ops).toBeGreaterThanOrEqual(OPS);
      for (const kind of ['graceful', 'abrupt', 'swaps', 'edge', 'replaced', 'renewed'] as const) {
        expect(report.counts[kind], kind).toBeGreaterThan(0);
      }
      // every client is either connected (server and client agree) or deleted exactly once
      const live = h.supervisor.list();
      expect(live.every((view) => view.state === 'connected')).toBe(true);
      expect(live.map((view) => view.clientId).sort()).toEqual([...report.connected].sort());
      const liveIds = new Set(live.map((view) => view.clientId));
      expect(everyClient.size).toBeGreaterThan(CLIENTS);
      for (const clientId of everyClient) expect(deletes.get(clientId) ?? 0).toBe(liveIds.has(clientId) ? 0 : 1);
      expect(h.supervisor.counts()).toEqual({
        handshaking: 0,
        connected: report.connected.length,
        disconnected: 0,
        total: report.connected.length,
      });
      // one server socket per connected client, no more
      expect(h.io.of('/').sockets.size).toBe(report.liveSockets);
      expect(report.liveSockets).toBe(report.connected.length);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // the clients' sockets are gone: the server lets go of them too, and of every timer
    for (let waited = 0; h.io.of('/').sockets.size > 0 && waited < 5000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(h.io.of('/').sockets.size).toBe(0);
    await h.close();
    expect(activeTimers()).toBeLessThanOrEqual(timersAtStart);
    process.stdout.write(`churn: ${JSON.stringify(report.counts)}, connected at the end: ${report.connected.length}\n`);
  }, 300_000);
});
