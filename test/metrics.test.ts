import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectMetrics } from '../src/metrics/index.js';
import { recordedSupervisor, settle } from './helpers/supervisor.js';

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

describe('collectMetrics', () => {
  it('should expose clients by state, lifecycle counters and histograms as Prometheus text', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 1000, hooks: { onDelete: () => Promise.reject(new Error('x')) } });
    const registry = new Registry();
    const stop = collectMetrics(t.supervisor, { registry, prefix: 'app_' });
    const a = t.supervisor.register().clientId;
    const b = t.supervisor.register().clientId;
    t.handshake(a, 's1');
    t.disconnect(a, 's1');
    vi.advanceTimersByTime(400);
    t.handshake(a, 's2');
    t.disconnect(a, 's9'); // stale
    // messages: two to the connected client, one to a client gone
    t.supervisor.to(a).emit('note', 1);
    t.supervisor.to(a).emit('note', 2);
    t.supervisor.delete(b);
    t.supervisor.to(b).emit('note', 3);
    await settle();
    const text = await registry.metrics();
    expect(text).toContain('app_clients{state="connected"} 1');
    expect(text).toContain('app_clients{state="handshaking"} 0');
    expect(text).toContain('app_events_total{type="reconnected"} 1');
    expect(text).toContain('app_deletes_total{reason="manual"} 1');
    expect(text).toContain('app_ignored_total{why="stale-socket"} 1');
    expect(text).toContain('app_hook_errors_total{hook="onDelete"} 1');
    expect(text).toContain('app_time_to_reconnect_seconds_bucket{le="0.5"} 1');
    expect(text).toMatch(/app_hook_duration_seconds_count\{hook="onConnect",outcome="ok"\} 2/);
    expect(text).toContain('app_messages_total{outcome="sent"} 2');
    expect(text).toContain('app_messages_total{outcome="undelivered"} 1');
    // a second scrape counts only what happened since
    t.supervisor.to(a).emit('note', 4);
    expect(await registry.metrics()).toContain('app_messages_total{outcome="sent"} 3');
    stop();
    expect(await registry.metrics()).not.toContain('app_');
    await t.supervisor.close();
  });
});
