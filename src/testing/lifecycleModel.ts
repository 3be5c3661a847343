import { assign, getInitialSnapshot, getNextSnapshot, setup } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';

/**
 * A model of docs/design.md's lifecycle, independent of the implementation (the one model behind the
 * library's own model-based tests and the testing kit's `lifecyclePaths()`): abstract events (which
 * socket, whether a prune is due) and timeouts as explicit events, because xstate/graph cannot
 * traverse delayed transitions. Its context is the reference the system under test is checked
 * against after every step: expected hook counts and the last thing the supervisor must report.
 */
export type ModelEvent =
  | { type: 'HANDSHAKE_NEW' }
  | { type: 'HANDSHAKE_SAME' }
  | { type: 'DISCONNECT_CURRENT' }
  | { type: 'DISCONNECT_STALE' }
  | { type: 'PRUNE_EARLY' }
  | { type: 'PRUNE_DUE' }
  | { type: 'DELETE' }
  | { type: 'TIMEOUT' };

export const MODEL_EVENTS: ModelEvent[] = [
  { type: 'HANDSHAKE_NEW' },
  { type: 'HANDSHAKE_SAME' },
  { type: 'DISCONNECT_CURRENT' },
  { type: 'DISCONNECT_STALE' },
  { type: 'PRUNE_EARLY' },
  { type: 'PRUNE_DUE' },
  { type: 'DELETE' },
  { type: 'TIMEOUT' },
];

export interface ModelContext {
  connects: number;
  disconnects: number;
  deletes: number;
  /** What the supervisor must report for the last step: an event type, `ignored:<why>`, or `none`. */
  expect: string;
  /** The DESIGN table cell the last step exercised. */
  cell: string;
}

const step = (expect: string, cell: string) =>
  assign<ModelContext, ModelEvent, undefined, ModelEvent, never>({ expect, cell });
const count = (key: 'connects' | 'disconnects' | 'deletes', expect: string, cell: string) =>
  assign<ModelContext, ModelEvent, undefined, ModelEvent, never>(({ context }) => ({
    [key]: context[key] + 1,
    expect,
    cell,
  }));

export const lifecycleModel = setup({
  types: { context: {} as ModelContext, events: {} as ModelEvent },
}).createMachine({
  id: 'lifecycle-model',
  context: { connects: 0, disconnects: 0, deletes: 0, expect: 'registered', cell: 'start' },
  initial: 'handshaking',
  states: {
    handshaking: {
      on: {
        HANDSHAKE_NEW: {
          target: 'connected',
          actions: count('connects', 'connected', 'handshaking × socket.handshake'),
        },
        DISCONNECT_CURRENT: { actions: step('ignored:not-connected', 'handshaking × socket.disconnect') },
        // PRUNE_EARLY is a prune addressed to this client before its deadline (a sweep would not
        // visit it at all: DESIGN's sweeps visit only clients whose deadline has passed)
        PRUNE_EARLY: { actions: step('ignored:not-due', 'handshaking × client.prune (not due)') },
        PRUNE_DUE: {
          target: 'deleted',
          actions: count('deletes', 'deleted:pruned', 'handshaking × client.prune (due)'),
        },
        DELETE: { target: 'deleted', actions: count('deletes', 'deleted:manual', 'handshaking × client.delete') },
        TIMEOUT: { target: 'deleted', actions: count('deletes', 'deleted:handshake-timeout', 'handshaking × timer') },
      },
    },
    connected: {
      on: {
        HANDSHAKE_NEW: { actions: step('socket-replaced', 'connected × socket.handshake (new socket)') },
        HANDSHAKE_SAME: { actions: step('ignored:replay', 'connected × socket.handshake (same socket)') },
        DISCONNECT_CURRENT: {
          target: 'disconnected',
          actions: count('disconnects', 'disconnected', 'connected × socket.disconnect (current)'),
        },
        DISCONNECT_STALE: { actions: step('ignored:stale-socket', 'connected × socket.disconnect (stale)') },
        PRUNE_EARLY: { actions: step('ignored:not-due', 'connected × client.prune') },
        DELETE: { target: 'deleted', actions: count('deletes', 'deleted:manual', 'connected × client.delete') },
      },
    },
    disconnected: {
      on: {
        HANDSHAKE_NEW: {
          target: 'connected',
          actions: count('connects', 'reconnected', 'disconnected × socket.handshake'),
        },
        DISCONNECT_CURRENT: { actions: step('ignored:not-connected', 'disconnected × socket.disconnect') },
        PRUNE_EARLY: { actions: step('ignored:not-due', 'disconnected × client.prune (not due)') },
        PRUNE_DUE: {
          target: 'deleted',
          actions: count('deletes', 'deleted:pruned', 'disconnected × client.prune (due)'),
        },
        DELETE: { target: 'deleted', actions: count('deletes', 'deleted:manual', 'disconnected × client.delete') },
        TIMEOUT: { target: 'deleted', actions: count('deletes', 'deleted:reconnect-timeout', 'disconnected × timer') },
      },
    },
    // not final in the model, so paths can go on and exercise the deleted row
    deleted: {
      on: {
        HANDSHAKE_NEW: { actions: step('ignored:already-deleted', 'deleted × socket.handshake') },
        DISCONNECT_CURRENT: { actions: step('ignored:already-deleted', 'deleted × socket.disconnect') },
        PRUNE_DUE: { actions: step('none', 'deleted × client.prune') },
        DELETE: { actions: step('ignored:already-deleted', 'deleted × client.delete') },
      },
    },
  },
});

/**
 * Every cell of docs/design.md's state × event table, with the sub-cases the table spells out. The
 * timer column has no cell for `connected` and `deleted` (marked — in the table).
 */
export const DESIGN_CELLS = [
  'handshaking × socket.handshake',
  'handshaking × socket.disconnect',
  'handshaking × client.prune (not due)',
  'handshaking × client.prune (due)',
  'handshaking × client.delete',
  'handshaking × timer',
  'connected × socket.handshake (same socket)',
  'connected × socket.handshake (new socket)',
  'connected × socket.disconnect (current)',
  'connected × socket.disconnect (stale)',
  'connected × client.prune',
  'connected × client.delete',
  'disconnected × socket.handshake',
  'disconnected × socket.disconnect',
  'disconnected × client.prune (not due)',
  'disconnected × client.prune (due)',
  'disconnected × client.delete',
  'disconnected × timer',
  'deleted × socket.handshake',
  'deleted × socket.disconnect',
  'deleted × client.prune',
  'deleted × client.delete',
] as const;

/** A cell of docs/design.md's state × event table. */
export type DesignCell = (typeof DESIGN_CELLS)[number];

export type ModelSnapshot = ReturnType<typeof getInitialSnapshot<typeof lifecycleModel>>;

/** The model's snapshots along `events`: the initial one, then one after each event. */
export function replay(events: ModelEvent[]): ModelSnapshot[] {
  const snapshots = [getInitialSnapshot(lifecycleModel)];
  for (const event of events) snapshots.push(getNextSnapshot(lifecycleModel, snapshots.at(-1)!, event));
  return snapshots;
}
export interface ModelPath {
  description: string;
  events: ModelEvent[];
}

const serialize = {
  // the graph is over states only: the counters are checked along each path, not enumerated
  serializeState: (snapshot: { value: unknown }) => JSON.stringify(snapshot.value),
  events: MODEL_EVENTS,
};

/**
 * The generated paths: the shortest path to each state, every simple path, and each of those
 * followed by every event the model accepts there (so every transition is a path's last step).
 */
export function generatePaths(): ModelPath[] {
  const bases = [...getShortestPaths(lifecycleModel, serialize), ...getSimplePaths(lifecycleModel, serialize)].map(
    (path) =>
      path.steps
        .map((s) => s.event)
        .filter((event) => (event as { type: string }).type !== 'xstate.init') as ModelEvent[],
  );
  const unique = new Map<string, ModelEvent[]>();
  const add = (events: ModelEvent[]) => unique.set(events.map((e) => e.type).join(' → ') || '(registered)', events);
  for (const base of bases) {
    add(base);
    const end = replay(base).at(-1)!;
    for (const event of MODEL_EVENTS) {
      if (end.can(event)) add([...base, event]);
    }
  }
  return [...unique].map(([description, events]) => ({ description, events }));
}

/**
 * Every event sequence of at most `maxSteps` events the model accepts, shortest first along each
 * branch: the exhaustive alternative to {@link generatePaths}. A deleted client gets one late
 * event, not more (a second one exercises nothing the first did not).
 */
export function enumeratePaths(maxSteps: number): ModelPath[] {
  const paths: ModelPath[] = [];
  const walk = (snapshot: ModelSnapshot, events: ModelEvent[], late: boolean) => {
    paths.push({ description: events.map((e) => e.type).join(' → ') || '(registered)', events });
    if (events.length === maxSteps || late) return;
    for (const event of MODEL_EVENTS) {
      if (!snapshot.can(event)) continue;
      walk(getNextSnapshot(lifecycleModel, snapshot, event), [...events, event], snapshot.value === 'deleted');
    }
  };
  walk(getInitialSnapshot(lifecycleModel), [], false);
  return paths;
}
