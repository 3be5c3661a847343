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

/** The client machine as the inspector draws it: its states and transitions, read from the machine itself. */
export interface ChartModel {
  id: string;
  states: ChartState[];
  transitions: ChartTransition[];
}

interface NodeLike {
  key: string;
  type: string;
  states: Record<string, NodeLike>;
  transitions: Map<string, Array<{ target?: NodeLike[]; guard?: unknown; actions: unknown[] }>>;
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
          timer: event === 'client.timeout' ? (TIMERS[key] ?? 'timeout') : null,
        });
      }
    }
    states.push({ id: key, final: node.type === 'final', initial: key === initialKey, ignores });
  }
  return { id: machine.id, states, transitions };
}
