import type { LogEntry } from './cluster.js';

/** How much each invariant had to look at (a check that saw nothing proves nothing). */
export interface InvariantReport {
  violations: string[];
  clients: number;
  hooks: number;
  deletedClients: number;
  redeliveries: number;
}

/**
 * The invariants of cluster mode, checked on what every node wrote to its log file:
 * 1. at most one completed onDelete per client: Redis acknowledges one completion, every onDelete
 *    run of a client carries the same deletionId, at most one run is not `redelivered`, and a
 *    second run that finished happens only when the first run's node was fenced or killed (its
 *    completion was not recorded);
 * 2. no hook after a client's onDelete: in each node's file (one process, one total order) no hook
 *    of the client starts after that node's onDelete of it or after the node learned another
 *    node deleted it; across nodes, every other hook's fence is below the deletion's fence;
 * 3. hook order follows fence order: in each node's file a client's hooks have non-decreasing
 *    fences, and one fence (one owner's stint) appears on one node only, the deletion's excepted.
 */
export function checkInvariants(entries: readonly LogEntry[]): InvariantReport {
  const violations: string[] = [];
  const hooks = entries.filter((e) => e.kind === 'hook' && e.phase === 'start');
  const ends = entries.filter((e) => e.kind === 'hook' && e.phase === 'end');
  const completions = entries.filter((e) => e.kind === 'cluster' && e.type === 'deletion-completed');
  const clients = new Set(hooks.map((e) => e.clientId!));
  let redeliveries = 0;
  let deletedClients = 0;

  for (const clientId of clients) {
    const mine = hooks.filter((e) => e.clientId === clientId);
    const deletes = mine.filter((e) => e.hook === 'onDelete');
    const others = mine.filter((e) => e.hook !== 'onDelete');
    const tag = `client ${clientId}`;

    // 1. at most one completed onDelete
    if (deletes.length > 0) deletedClients += 1;
    const ids = new Set(deletes.map((e) => e.deletionId));
    if (ids.size > 1) violations.push(`${tag}: onDelete with ${ids.size} deletion ids`);
    const firstRuns = deletes.filter((e) => !e.redelivered);
    if (firstRuns.length > 1) violations.push(`${tag}: ${firstRuns.length} onDelete runs not marked redelivered`);
    redeliveries += deletes.length - firstRuns.length;
    const completed = completions.filter((e) => e.clientId === clientId && e.outcome === 'completed');
    if (completed.length > 1) violations.push(`${tag}: ${completed.length} completed onDelete`);
    const finished = ends.filter((e) => e.clientId === clientId && e.hook === 'onDelete');
    if (finished.length > 1) {
      // every finished run but the recorded one must be on an incarnation that was fenced or killed
      const recorded = completed[0];
      for (const run of finished) {
        if (recorded && run.node === recorded.node && run.inc === recorded.inc) continue;
        const fenced = entries.some(
          (e) => e.kind === 'cluster' && e.type === 'fenced' && e.node === run.node && e.incarnation === run.inc,
        );
        const replacedProcess = entries.some((e) => e.node === run.node && e.pid !== run.pid && e.t > run.t);
        if (!fenced && !replacedProcess)
          violations.push(`${tag}: onDelete finished twice, ${run.node} was never fenced`);
      }
    }

    // 2. no hook after onDelete
    const deletionFence = deletes[0]?.fence;
    for (const hook of others) {
      if (deletionFence !== undefined && !(hook.fence! < deletionFence)) {
        violations.push(
          `${tag}: ${hook.hook} on ${hook.node} at fence ${hook.fence} ≥ the deletion's ${deletionFence}`,
        );
      }
    }
    for (const node of new Set(mine.map((e) => e.node))) {
      const file = entries.filter((e) => e.node === node);
      const ended = file.findIndex(
        (e) =>
          e.clientId === clientId &&
          ((e.kind === 'hook' && e.phase === 'start' && e.hook === 'onDelete') ||
            (e.kind === 'cluster' && e.type === 'client-lost' && e.why === 'deleted')),
      );
      if (ended === -1) continue;
      const after = file
        .slice(ended + 1)
        .filter((e) => e.kind === 'hook' && e.phase === 'start' && e.clientId === clientId && e.hook !== 'onDelete');
      for (const hook of after) violations.push(`${tag}: ${hook.hook} on ${node} after the client's deletion there`);
    }

    // 3. hook order follows fence order
    const stints = new Map<number, string>();
    for (const hook of others) {
      const owner = stints.get(hook.fence!);
      if (owner !== undefined && owner !== hook.node) {
        violations.push(`${tag}: fence ${hook.fence} on both ${owner} and ${hook.node}`);
      }
      stints.set(hook.fence!, hook.node);
    }
    for (const node of new Set(mine.map((e) => e.node))) {
      const fences = mine.filter((e) => e.node === node).map((e) => e.fence!);
      for (let i = 1; i < fences.length; i++) {
        if (fences[i]! < fences[i - 1]!)
          violations.push(`${tag}: on ${node}, fence ${fences[i]} after ${fences[i - 1]}`);
      }
    }
  }
  return { violations, clients: clients.size, hooks: hooks.length, deletedClients, redeliveries };
}
