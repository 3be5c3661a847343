import type { SupervisorInternals } from '../core/internals.js';
import type { LifecycleEvent } from '../core/types.js';
import type { HookGate } from './hookGate.js';
import type { ClusterRecord } from './localStore.js';
import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import type { DueConnect } from './redis/results.js';

/**
 * Hooks Redis says are due on this node (DESIGN.md, "Hooks in cluster mode": a due hook is recorded
 * with its transition and cleared when an owner has run it). A claim whose reply was lost on
 * another node made `onConnect` due there; the client has since moved here, and Redis hands the
 * hook to its owner (a `hook-due` notice, or a claim's `due`). It runs here once, on the hook
 * runner after the client's other hooks, gated like them, and clears the mark when it settled.
 */
export function createDueHooks<TData>(
  node: NodeContext<TData>,
  parts: { core: SupervisorInternals<TData>; gate: HookGate; mirror: Mirror<TData> },
) {
  const { core, gate, mirror } = parts;

  function runConnect(record: ClusterRecord<TData>, due: DueConnect): void {
    if (!mirror.isCurrent(record)) return;
    const view = core.get(record.clientId);
    if (view === undefined) return;
    const socketId = record.socketId ?? due.socketId;
    const base = { clientId: record.clientId, at: node.now(), socketId, tabId: record.tabId };
    const event: LifecycleEvent = due.reconnect
      ? { ...base, type: 'reconnected', downtime: 0 }
      : { ...base, type: 'connected' };
    core.runHooks(event, view, undefined, gate.dueTicket(record, due.socketId));
  }

  return { runConnect };
}

/** The hooks Redis hands this node. */
export type DueHooks<TData> = ReturnType<typeof createDueHooks<TData>>;
