import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { internalsOf } from '../core/internals.js';
import type { Supervisor } from '../core/supervisor.js';

export interface MetricsOptions {
  /** The prom-client registry to register in (yours, so /metrics serves it with the rest). */
  registry: Registry;
  /** @default 'socketio_supervisor_' */
  prefix?: string;
}

/**
 * Prometheus metrics of a supervisor, in your prom-client registry: clients by state (a gauge
 * read at scrape time), counters of lifecycle events, deletes by reason, ignored events by why,
 * rejections by code and hook errors, and histograms of hook duration and time to reconnect.
 * Returns a function that stops collecting and unregisters the metrics.
 */
export function collectMetrics(supervisor: Supervisor, options: MetricsOptions): () => void {
  const { registry } = options;
  const prefix = options.prefix ?? 'socketio_supervisor_';
  const registers = [registry];
  new Gauge({
    name: `${prefix}clients`,
    help: 'Clients by lifecycle state',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts = supervisor.counts();
      for (const state of ['handshaking', 'connected', 'disconnected'] as const) this.set({ state }, counts[state]);
    },
  });
  const events = new Counter({
    name: `${prefix}events_total`,
    help: 'Lifecycle events by type (transitions and reports)',
    labelNames: ['type'] as const,
    registers,
  });
  const deletes = new Counter({
    name: `${prefix}deletes_total`,
    help: 'Deleted clients by reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const ignored = new Counter({
    name: `${prefix}ignored_total`,
    help: 'Events the lifecycle ignored, by why',
    labelNames: ['why'] as const,
    registers,
  });
  const rejected = new Counter({
    name: `${prefix}rejected_total`,
    help: 'Rejected handshakes by code',
    labelNames: ['code'] as const,
    registers,
  });
  const hookErrors = new Counter({
    name: `${prefix}hook_errors_total`,
    help: 'Hooks that threw, rejected or timed out',
    labelNames: ['hook'] as const,
    registers,
  });
  const hookDuration = new Histogram({
    name: `${prefix}hook_duration_seconds`,
    help: 'How long hooks took',
    labelNames: ['hook', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5],
    registers,
  });
  const reconnect = new Histogram({
    name: `${prefix}time_to_reconnect_seconds`,
    help: 'How long clients were disconnected before they came back',
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
    registers,
  });
  // messages of to(clientId).emit(): the supervisor keeps the totals, read at scrape time
  const seen = new Map<string, number>();
  new Counter({
    name: `${prefix}messages_total`,
    help: 'Messages of to(clientId).emit() by outcome: sent, resent (on a new socket), acked, undelivered, ignored_ack',
    labelNames: ['outcome'] as const,
    registers,
    collect() {
      const { sent, resent, acked, undelivered, ignoredAcks } = supervisor.stats().delivery;
      const totals = { sent, resent, acked, undelivered, ignored_ack: ignoredAcks };
      for (const [outcome, total] of Object.entries(totals)) {
        const counted = seen.get(outcome) ?? 0;
        if (total > counted) this.inc({ outcome }, total - counted);
        seen.set(outcome, total);
      }
    },
  });
  const subscription = supervisor.events$.subscribe((event) => {
    events.inc({ type: event.type });
    if (event.type === 'deleted') deletes.inc({ reason: event.reason });
    else if (event.type === 'ignored') ignored.inc({ why: event.why });
    else if (event.type === 'rejected') rejected.inc({ code: event.code });
    else if (event.type === 'hook-error') hookErrors.inc({ hook: event.hook });
    else if (event.type === 'reconnected') reconnect.observe(event.downtime / 1000);
  });
  const stopTimings = internalsOf(supervisor).onHookSettled((timing) => {
    hookDuration.observe({ hook: timing.hook, outcome: timing.ok ? 'ok' : 'error' }, timing.ms / 1000);
  });
  return function stopMetrics(): void {
    subscription.unsubscribe();
    stopTimings();
    for (const name of [
      'clients',
      'events_total',
      'deletes_total',
      'ignored_total',
      'rejected_total',
      'hook_errors_total',
      'hook_duration_seconds',
      'time_to_reconnect_seconds',
      'messages_total',
    ]) {
      registry.removeSingleMetric(`${prefix}${name}`);
    }
  };
}
