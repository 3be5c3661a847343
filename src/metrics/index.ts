import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ClusterSupervisor } from '../cluster/clusterSupervisor.js';
import { inspectableOf } from '../core/inspectable.js';
import type { Supervisor } from '../createSupervisor.js';

/** Options of {@link collectMetrics}. */
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
export function collectMetrics(supervisor: Supervisor | ClusterSupervisor, options: MetricsOptions): () => void {
  const { registry } = options;
  const prefix = options.prefix ?? 'socketio_supervisor_';
  const registers = [registry];
  const source = inspectableOf(supervisor);
  const STATES = ['handshaking', 'connected', 'disconnected'] as const;
  new Gauge({
    name: `${prefix}clients`,
    help: "Clients this process holds, by lifecycle state (in cluster mode: this node's share)",
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts = source.localCounts();
      for (const state of STATES) this.set({ state }, counts[state]);
    },
  });
  const clusterMetrics = source.cluster ? ['cluster_clients', 'cluster_nodes'] : [];
  if (source.cluster) {
    // read from Redis at scrape time: the whole cluster, as any node sees it
    new Gauge({
      name: `${prefix}cluster_nodes`,
      help: 'Live nodes of the cluster (from Redis)',
      registers,
      async collect() {
        this.set((await source.counts()).nodes ?? 0);
      },
    });
    new Gauge({
      name: `${prefix}cluster_clients`,
      help: 'Clients of the whole cluster by lifecycle state (from Redis)',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const counts = await source.counts();
        for (const state of STATES) this.set({ state }, counts[state]);
      },
    });
  }
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
      const { sent, resent, acked, undelivered, ignoredAcks } = source.stats().delivery;
      const totals = { sent, resent, acked, undelivered, ignored_ack: ignoredAcks };
      for (const [outcome, total] of Object.entries(totals)) {
        const counted = seen.get(outcome) ?? 0;
        if (total > counted) this.inc({ outcome }, total - counted);
        seen.set(outcome, total);
      }
    },
  });
  const subscription = source.events$.subscribe((event) => {
    events.inc({ type: event.type });
    if (event.type === 'deleted') deletes.inc({ reason: event.reason });
    else if (event.type === 'ignored') ignored.inc({ why: event.why });
    else if (event.type === 'rejected') rejected.inc({ code: event.code });
    else if (event.type === 'hook-error') hookErrors.inc({ hook: event.hook });
    else if (event.type === 'reconnected') reconnect.observe(event.downtime / 1000);
  });
  const stopTimings = source.onHookSettled((timing) => {
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
      ...clusterMetrics,
    ]) {
      registry.removeSingleMetric(`${prefix}${name}`);
    }
  };
}
