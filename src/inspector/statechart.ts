import type { AnyStateMachine } from 'xstate';

/** One state of a machine, as the inspector draws it. */
export interface ChartState {
  id: string;
  final: boolean;
  initial: boolean;
  /** Events this state explicitly ignores, with the reason it reports. */
  ignores: Array<{ event: string; why: string; guard: string | null }>;
}

/** One transition that changes state (or swaps something without changing it). */
export interface ChartTransition {
  from: string;
  to: string;
  event: string;
  guard: string | null;
  /** A deadline fired by the timer (`client.timeout`), labelled with the option that sets it. */
  timer: string | null;
}

/** A machine's states and transitions, as the inspector draws them ({@link statechartModel}). */
export interface ChartModel {
  id: string;
  states: ChartState[];
  transitions: ChartTransition[];
  /** Transitions taken from any state (the machine's root), e.g. the node machine's `close`. */
  anywhere?: Array<{ event: string; to: string }>;
}

interface NodeLike {
  key: string;
  type: string;
  states: Record<string, NodeLike>;
  transitions: Map<string, Array<{ target?: NodeLike[]; guard?: unknown; actions: unknown[] }>>;
  /** Eventless transitions (`always`). */
  always?: Array<{ target?: NodeLike[]; guard?: unknown; actions: unknown[] }>;
}

/** A delayed transition's event (`xstate.after.<delay>.<state id>`): its delay's name. */
function delayOf(event: string): string | null {
  return /^xstate\.after\.([^.]+)\./.exec(event)?.[1] ?? null;
}

function guardName(guard: unknown): string | null {
  if (!guard) return null;
  if (typeof guard === 'string') return guard;
  return (guard as { type?: string }).type ?? null;
}

function ignoredWhy(actions: unknown[]): string | null {
  for (const action of actions) {
    const { type, params } = (action ?? {}) as { type?: string; params?: { why?: string } };
    if (type === 'ignore' && params?.why) return params.why;
  }
  return null;
}

const TIMERS: Record<string, string> = { handshaking: 'handshakeTimeout', disconnected: 'reconnectTimeout' };

/**
 * The statechart of a machine, read from its definition (its state nodes and their transition
 * tables), not drawn by hand: what the inspector shows is what the machine does.
 */
export function statechartModel(machine: AnyStateMachine): ChartModel {
  const root = machine.root as unknown as NodeLike & { initial?: { target?: NodeLike[] } };
  const initialKey = root.initial?.target?.[0]?.key;
  const states: ChartState[] = [];
  const transitions: ChartTransition[] = [];
  for (const [key, node] of Object.entries(root.states)) {
    const ignores: ChartState['ignores'] = [];
    for (const [event, definitions] of node.transitions) {
      for (const definition of definitions) {
        const target = definition.target?.[0]?.key;
        const guard = guardName(definition.guard);
        if (target === undefined) {
          const why = ignoredWhy(definition.actions);
          if (why) ignores.push({ event, why, guard });
          else transitions.push({ from: key, to: key, event, guard, timer: null });
          continue;
        }
        transitions.push({
          from: key,
          to: target,
          event,
          guard,
          timer: event === 'client.timeout' ? (TIMERS[key] ?? 'timeout') : delayOf(event),
        });
      }
    }
    for (const definition of node.always ?? []) {
      const target = definition.target?.[0]?.key;
      if (target !== undefined) {
        transitions.push({ from: key, to: target, event: 'always', guard: guardName(definition.guard), timer: null });
      }
    }
    states.push({ id: key, final: node.type === 'final', initial: key === initialKey, ignores });
  }
  const anywhere: NonNullable<ChartModel['anywhere']> = [];
  for (const [event, definitions] of root.transitions) {
    for (const definition of definitions) {
      const target = definition.target?.[0]?.key;
      if (target !== undefined) anywhere.push({ event, to: target });
    }
  }
  return { id: machine.id, states, transitions, ...(anywhere.length > 0 ? { anywhere } : {}) };
}
