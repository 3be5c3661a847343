import type { RegisterOptions } from '../core/supervisor.js';
import type { ClientState, LifecycleEvent } from '../core/types.js';
import type { HookCall, TestClient, TestSupervisor } from './createTestSupervisor.js';
import { type DesignCell, enumeratePaths, generatePaths, type ModelEvent, replay } from './lifecycleModel.js';
import { REGISTERS, SHUTS_DOWN, storyOf } from './stories.js';

/** One step of a lifecycle path: a model event, where it starts and ends, and what it reads as. */
export interface LifecycleStep {
  /** The lifecycle model's event. */
  event: ModelEvent['type'];
  from: ClientState;
  to: ClientState;
  /** The cell of DESIGN.md's table it exercises, e.g. `disconnected × socket.handshake`. */
  cell: DesignCell;
  story: string;
  /**
   * What the supervisor must report about the client for this step: an event type
   * (`connected`), `deleted:<reason>`, `ignored:<why>`, or `none`.
   */
  expect: string;
}

/** Where a path's check was called. */
export interface CheckPoint<TData> {
  path: LifecyclePath<TData>;
  client: TestClient<TData>;
  /** `registers`, a step's story, or `the server shuts down`. */
  story: string;
  /** The step just taken (`undefined` after the registration and after the shutdown). */
  step?: LifecycleStep;
}

/** An app's invariant, checked after every step of a path; throw (or fail an assertion) to fail it. */
export type PathCheck<TData> = (t: TestSupervisor<TData>, at: CheckPoint<TData>) => void | Promise<void>;

/** One path through the lifecycle model, for one client. */
export interface LifecyclePath<TData = unknown> {
  /** The story, e.g. `registers, connects, disconnects, reconnects, the server shuts down`. */
  name: string;
  steps: LifecycleStep[];
  /** The DESIGN table cells its steps exercise. */
  cells: DesignCell[];
  /** How its client registers (`lifecyclePaths({ client })`). */
  registration?: RegisterOptions<TData>;
  /**
   * Registers a client on `t` and takes it along the path, calling `check(t)` after the
   * registration and after every step, once their hooks have settled. Along the way it checks
   * what the lifecycle table says (the client's state and socket, what the supervisor reported,
   * the hooks it called) and rejects with a {@link LifecyclePathError} naming the step where
   * anything (that, a hook error, or `check`) failed.
   */
  run(t: TestSupervisor<TData>, check?: PathCheck<TData>): Promise<void>;
}

/** Options of {@link lifecyclePaths}. */
export interface LifecyclePathsOptions<TData = unknown> {
  /** How each path's client registers (its `tabId`, its `data`). */
  client?: RegisterOptions<TData>;
  /**
   * Every path of at most this many steps the model allows (a deleted client gets one late
   * event), instead of the 47 the library's own model tests run: 131 paths of up to 3 steps, 485
   * of up to 4, 1,951 of up to 5. Longer paths see what happens after a reconnect, a swap, a
   * second disconnect.
   * @default the library's paths: the shortest path to each state, every simple path, each
   * extended by every event the model accepts at its end
   */
  maxSteps?: number;
  /**
   * Whether each path ends with `t.close()` (every client deleted with reason `shutdown`) and a
   * last check: the place to catch state left behind after a shutdown.
   * @default true
   */
  shutdown?: boolean;
}

/** A path failed: `cause` is what failed, `story` the step after which it did. */
export class LifecyclePathError extends Error {
  override readonly name = 'LifecyclePathError';
  constructor(
    readonly path: string,
    /** The index of the failing step; -1 for the registration, `steps.length` for the shutdown. */
    readonly step: number,
    readonly story: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`lifecycle path "${path}", after "${story}": ${reason}`, { cause });
  }
}

/** How a path's steps move time: awaiting the hooks (a path run) or not (hook orderings). */
export interface StepTiming {
  /** Moves the clock `ms` ahead, firing the timers due meanwhile. */
  advance(ms: number): unknown;
}

let modelPaths: ReturnType<typeof generatePaths> | undefined;

/**
 * Every path of the lifecycle model, the same model (and by default the same 47 paths) the
 * library's own model-based tests run: the shortest path to each state, every simple path, and
 * each of those extended by every event the model accepts at its end; with `maxSteps`, every path
 * of up to that many steps. Either way they exercise every cell of DESIGN.md's table, races
 * included (a second disconnect, a late prune, a stale socket, a socket swap, a delete during the
 * handshake, a timer against a prune).
 *
 * @example
 * for (const path of lifecyclePaths({ client: { data: { user: 'ada' } } })) {
 *   it(path.name, () => path.run(createTestSupervisor({ hooks: app.hooks }), () => app.checkMembers()));
 * }
 */
export function lifecyclePaths<TData = unknown>(options: LifecyclePathsOptions<TData> = {}): LifecyclePath<TData>[] {
  const { client: registration, shutdown = true, maxSteps } = options;
  if (maxSteps !== undefined && (!Number.isInteger(maxSteps) || maxSteps < 0 || maxSteps > 8)) {
    throw new TypeError(`socket.io-supervisor/testing: maxSteps must be a whole number from 0 to 8, got ${maxSteps}`);
  }
  modelPaths ??= generatePaths();
  const chosen = maxSteps === undefined ? modelPaths : enumeratePaths(maxSteps);
  return chosen.map(({ events }) => {
    const steps = stepsOf(events);
    const name = [REGISTERS, ...steps.map((step) => step.story), ...(shutdown ? [SHUTS_DOWN] : [])].join(', ');
    const path: LifecyclePath<TData> = {
      name,
      steps,
      cells: [...new Set(steps.map((step) => step.cell))],
      ...(registration === undefined ? {} : { registration }),
      run: (t, check) => runPath(path, t, check, { registration, shutdown }),
    };
    return path;
  });
}

/** The steps of a model event sequence, read off the model's snapshots along it. */
export function stepsOf(events: ModelEvent[]): LifecycleStep[] {
  const snapshots = replay(events);
  return events.map((event, i) => {
    const from = snapshots[i]!.value as ClientState;
    const after = snapshots[i + 1]!;
    return {
      event: event.type,
      from,
      to: after.value as ClientState,
      cell: after.context.cell as DesignCell,
      story: storyOf(from, event.type),
      expect: after.context.expect,
    };
  });
}

/** A socket of the client that is not its current one: the last one it left, else a new id. */
function staleSocket<TData>(c: TestClient<TData>): string {
  const current = c.socketId;
  for (let i = c.sockets.length - 1; i >= 0; i -= 1) if (c.sockets[i] !== current) return c.sockets[i]!;
  return `${c.clientId.slice(0, 6)}-stale`;
}

/**
 * Takes one step with the client, as the socket.io adapter and the timers would. Time moves only
 * for the steps about deadlines: a timeout advances exactly to the deadline; a due prune stalls
 * the clock past it (the timer is late), sweeps, then lets the late timers fire.
 */
export async function performStep<TData>(
  t: TestSupervisor<TData>,
  c: TestClient<TData>,
  step: LifecycleStep,
  timing: StepTiming,
): Promise<void> {
  switch (step.event) {
    case 'HANDSHAKE_NEW':
      if (step.from === 'connected') c.swap();
      else c.connect();
      return;
    case 'HANDSHAKE_SAME':
      c.connect(c.socketId ?? undefined);
      return;
    case 'DISCONNECT_CURRENT':
      c.disconnect();
      return;
    case 'DISCONNECT_STALE':
      c.disconnect(staleSocket(c));
      return;
    case 'PRUNE_EARLY':
      c.prune();
      return;
    case 'PRUNE_DUE': {
      const deadline = c.view()?.expiresAt;
      if (deadline != null) t.stall(Math.max(0, deadline - t.now()));
      t.prune();
      await timing.advance(0);
      return;
    }
    case 'DELETE':
      c.delete();
      return;
    case 'TIMEOUT': {
      const deadline = c.view()?.expiresAt;
      if (deadline == null) throw new Error(`no deadline to wait for in ${c.state}`);
      await timing.advance(Math.max(0, deadline - t.now()));
      return;
    }
  }
}

/** How the supervisor's report of an event reads in a path's expectations. */
export function labelOf(event: LifecycleEvent): string {
  if (event.type === 'ignored') return `ignored:${event.why}`;
  if (event.type === 'deleted') return `deleted:${event.reason}`;
  if (event.type === 'rejected') return `rejected:${event.code}`;
  return event.type;
}

/** How a hook call reads in a path's expectations. */
export function hookLabelOf(call: HookCall<unknown>): string {
  if (call.hook === 'onConnect') return `onConnect(reconnect: ${call.reconnect})`;
  return `${call.hook}(${call.reason})`;
}

/** The hook call the lifecycle table prescribes for what the supervisor reports. */
function hooksFor(expect: string): string[] {
  if (expect === 'connected') return ['onConnect(reconnect: false)'];
  if (expect === 'reconnected') return ['onConnect(reconnect: true)'];
  if (expect === 'disconnected') return ['onDisconnect(transport close)'];
  if (expect.startsWith('deleted:')) return [`onDelete(${expect.slice('deleted:'.length)})`];
  return [];
}

const show = (list: string[]) => `[${list.join(', ')}]`;

/**
 * A timeout that falls on a tick of the periodic prune sweep may be taken by the sweep instead:
 * both are due at that instant, and DESIGN.md lets either delete the client (`onDelete` runs
 * once either way). A timeout step moves the clock to the deadline and prunes nothing itself, so
 * a `pruned` delete at the deadline is that sweep's.
 */
function takenByPruneTick<TData>(
  t: TestSupervisor<TData>,
  step: LifecycleStep,
  deadline: number | null,
  seen: LifecycleEvent[],
) {
  return (
    step.event === 'TIMEOUT' &&
    t.options.pruneInterval > 0 &&
    seen.some((event) => event.type === 'deleted' && event.reason === 'pruned' && event.at === deadline)
  );
}

async function runPath<TData>(
  path: LifecyclePath<TData>,
  t: TestSupervisor<TData>,
  check: PathCheck<TData> | undefined,
  { registration, shutdown }: { registration: RegisterOptions<TData> | undefined; shutdown: boolean },
): Promise<void> {
  const fail = (index: number, story: string, cause: unknown) => new LifecyclePathError(path.name, index, story, cause);
  if (t.options.reconnectTimeout === 0 && path.cells.includes('disconnected × client.prune (not due)')) {
    throw fail(-1, REGISTERS, new Error('this path needs reconnectTimeout > 0 (a disconnected client not yet due)'));
  }
  let c: TestClient<TData>;
  /** The socket the client should be on while connected. */
  let socket: string | null = null;
  try {
    c = t.client(registration);
    await t.settle();
    expectReports(c, 0, 0, 'handshaking', ['registered'], []);
    await check?.(t, { path, client: c, story: REGISTERS });
  } catch (error) {
    throw fail(-1, REGISTERS, error);
  }

  for (const [index, step] of path.steps.entries()) {
    try {
      const events = c.events.length;
      const calls = c.hookCalls.length;
      const deadline = c.view()?.expiresAt ?? null;
      await performStep(t, c, step, t);
      await t.settle();
      if (step.event === 'HANDSHAKE_NEW' && step.from !== 'deleted') socket = c.sockets.at(-1)!;
      const expect = takenByPruneTick(t, step, deadline, c.events.slice(events)) ? 'deleted:pruned' : step.expect;
      expectReports(c, events, calls, step.to, expect === 'none' ? [] : [expect], hooksFor(expect));
      const onSocket = step.to === 'connected' ? socket : null;
      if (c.socketId !== onSocket)
        throw new Error(`the client is on socket ${c.socketId}; it should be on ${onSocket}`);
      await check?.(t, { path, client: c, story: step.story, step });
    } catch (error) {
      throw fail(index, step.story, error);
    }
  }

  if (!shutdown) return;
  try {
    const events = c.events.length;
    const calls = c.hookCalls.length;
    const live = c.state !== 'deleted';
    await t.close();
    expectReports(c, events, calls, 'deleted', live ? ['deleted:shutdown'] : [], live ? ['onDelete(shutdown)'] : []);
    const deletes = c.hookCalls.filter((call) => call.hook === 'onDelete').length;
    if (deletes !== 1 || c.hookCalls.at(-1)?.hook !== 'onDelete') {
      throw new Error(`onDelete must run exactly once and last; hooks called: ${show(c.hookCalls.map(hookLabelOf))}`);
    }
    await check?.(t, { path, client: c, story: SHUTS_DOWN });
  } catch (error) {
    throw fail(path.steps.length, SHUTS_DOWN, error);
  }
}

/** What the lifecycle table prescribes for one step: the client's state, its reports, its hooks. */
function expectReports<TData>(
  c: TestClient<TData>,
  eventMark: number,
  hookMark: number,
  state: ClientState,
  reports: string[],
  hooks: string[],
): void {
  if (c.state !== state) throw new Error(`the client is ${c.state}; the lifecycle table says ${state}`);
  // hook errors are the app's, thrown by settle() unless the test supervisor only records them
  const reported = c.events
    .slice(eventMark)
    .filter((event) => event.type !== 'hook-error')
    .map(labelOf);
  if (show(reported) !== show(reports)) {
    throw new Error(`the supervisor reported ${show(reported)}; the lifecycle table says ${show(reports)}`);
  }
  const called = c.hookCalls.slice(hookMark).map(hookLabelOf);
  if (show(called) !== show(hooks)) {
    throw new Error(`the supervisor called ${show(called)}; the lifecycle table says ${show(hooks)}`);
  }
}
