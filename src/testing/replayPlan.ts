// The replay half of recordingToTest(): what the testing kit must do, step by step, to make a
// recorded client live the same life, and what it must observe after each step. No code is
// written here (recordingToTest.ts writes it). Pure and self-contained (type imports only), as
// the file that writes the code is: the inspector turns histories into tests with both.
import type { ClientState, DeleteReason, DisconnectReason, LifecycleEvent } from '../core/types.js';

type Recorded = LifecycleEvent;

/** The supervisor's timings a replay runs with. */
export interface ReplayTimings {
  handshakeTimeout: number;
  reconnectTimeout: number;
  tombstoneTtl: number;
}

/** One call of the testing kit (`t` the test supervisor, `c` the replayed client). */
export type ReplayCall =
  | { kind: 'advance'; ms: number }
  /** The clock moves past a deadline without firing it: the production timer was late. */
  | { kind: 'stall'; ms: number }
  /** `c.connect(socketId)`, with the tab id the page sent at its handshake, if it sent one. */
  | { kind: 'connect'; socketId: string; tabId?: string }
  /** `c.disconnect(socketId, reason)`; no reason: the kit's default. */
  | { kind: 'disconnect'; socketId: string; reason?: DisconnectReason }
  /** `c.delete(reason)`; no reason: the kit's default. */
  | { kind: 'delete'; reason?: DeleteReason }
  /** `t.prune()`: a sweep. */
  | { kind: 'sweep' }
  /** `c.prune()`: a prune aimed at the client. */
  | { kind: 'prune' }
  /** `t.close()`. */
  | { kind: 'close' }
  /** `count` messages sent to the client with `to(clientId).emit()`, which no page acknowledges. */
  | { kind: 'emit'; count: number };

/** A hook call a step must cause, as the generated test compares it. */
export type ExpectedHook =
  | { hook: 'onConnect'; reconnect: boolean }
  | { hook: 'onDisconnect'; reason: DisconnectReason }
  | { hook: 'onDelete'; reason: DeleteReason };

/** One step of a replay: the recorded event, the calls that cause it, what must be seen after. */
export interface ReplayStep {
  /** The recorded event the step replays (the first, when it replays several at once). */
  event: Recorded;
  /**
   * `null` for an event the kit cannot cause (a socket the socket.io adapter rejected, a hook's
   * error, a timer of an older generation): the generated test keeps it as a comment.
   */
  calls: ReplayCall[] | null;
  /** A timeout the production event loop met late, by this many ms (the replay meets it on time). */
  lateBy: number;
  /** After the calls: the client's state, every event reported (in order) and the hooks called. */
  expect: { state: ClientState; events: Recorded[]; hooks: ExpectedHook[] };
}

/** What a replay needs: its clock, its timings, how the client registers, and its steps. */
export interface ReplayPlan {
  clientId: string;
  /** When the replay's clock starts. */
  start: number;
  timings: ReplayTimings;
  /** How the client is registered (`t.client(...)`): the tab id its `registered` event names. */
  registration: { tabId?: string };
  /** Most messages one emit step sends, when more than the default outbox bound (1,000). */
  outboxMessages: number | null;
  /**
   * Calls that bring a newly registered client into the state the first recorded event implies,
   * when the recording starts mid-life (its first events were dropped); `null` when it starts at
   * the registration.
   */
  prefix: ReplayCall[] | null;
  /** The recorded registration, replayed by registering (no calls). */
  registered: Recorded | null;
  steps: ReplayStep[];
  /** What happened, one short phrase per replayed step, for the title. */
  stories: string[];
}

/** The supervisor's defaults, for what neither the options nor the history say. */
export const DEFAULT_TIMINGS: ReplayTimings = { handshakeTimeout: 60000, reconnectTimeout: 3000, tombstoneTtl: 60000 };
/** The outbox bound a test supervisor starts with (`outbox.maxMessages`). */
const DEFAULT_OUTBOX_MESSAGES = 1000;
/** The socket a client had before the recording began (its id is not in the history). */
export const BEFORE = 'socket-before-the-recording';

type Sim = {
  state: ClientState;
  socket: string | null;
  tabId: string | null;
  now: number;
  deadline: number | null;
};

const stateAfter: Partial<Record<Recorded['type'], ClientState>> = {
  registered: 'handshaking',
  connected: 'connected',
  reconnected: 'connected',
  'socket-replaced': 'connected',
  disconnected: 'disconnected',
  deleted: 'deleted',
};

/** Undelivered messages sent to a client that was already gone (not dropped with its outbox). */
function toGoneClient(event: Recorded): boolean {
  return event.type === 'undelivered' && (event.reason === 'already-deleted' || event.reason === 'unknown-client');
}

/** Whether the kit can cause this event from outside as a step of its own. */
function replayable(event: Recorded): boolean {
  if (event.type === 'ignored') return event.event !== 'client.timeout';
  if (event.type === 'undelivered') return toGoneClient(event);
  return event.type in stateAfter;
}

function isTimeout(event: Recorded): boolean {
  return event.type === 'deleted' && (event.reason === 'handshake-timeout' || event.reason === 'reconnect-timeout');
}

/** What an event did, in a few words (the generated test's comments and title). */
export function storyOf(event: Recorded): string {
  if (event.type === 'deleted') return `deleted (${event.reason})`;
  if (event.type === 'ignored') return `ignored ${event.event} (${event.why})`;
  if (event.type === 'disconnected') return `disconnected (${event.reason})`;
  if (event.type === 'undelivered') return `a message undelivered (${event.reason})`;
  return event.type;
}

/** Checks the history is one client's events in time order; returns the client's id. */
function checkHistory(history: readonly Recorded[]): string {
  if (!Array.isArray(history) || history.length === 0) {
    throw new TypeError('recordingToTest: the history must be a non-empty array of lifecycle events');
  }
  const clientId = history[0]?.clientId;
  let at = Number.NEGATIVE_INFINITY;
  for (const event of history) {
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      throw new TypeError('recordingToTest: every entry must be a lifecycle event');
    }
    if (event.clientId !== clientId) {
      throw new TypeError(`recordingToTest: the history mixes clients (${clientId} and ${event.clientId})`);
    }
    if (typeof event.at !== 'number' || !Number.isFinite(event.at) || event.at < at) {
      throw new TypeError(`recordingToTest: event times must be finite and in order (at ${String(event.at)})`);
    }
    at = event.at;
  }
  if (typeof clientId !== 'string') throw new TypeError('recordingToTest: events must carry a clientId');
  return clientId;
}

/**
 * The `undelivered` event that reports what a deletion dropped: published by the deletion itself,
 * right after its `deleted` event, at the same time and with the same reason.
 */
function droppedWith(history: readonly Recorded[], index: number): Extract<Recorded, { type: 'undelivered' }> | null {
  const deleted = history[index];
  const next = history[index + 1];
  if (deleted?.type !== 'deleted' || next?.type !== 'undelivered') return null;
  return next.at === deleted.at && next.reason === deleted.reason ? next : null;
}

/**
 * Plans the replay of one client's recorded lifecycle (oldest first) through the testing kit.
 * Every field of every event the kit can cause is caused as recorded: sockets, reasons, times,
 * the tab id a page sent at its handshake, the messages a deletion dropped.
 */
export function planReplay(history: readonly LifecycleEvent[], given: Partial<ReplayTimings> = {}): ReplayPlan {
  const clientId = checkHistory(history);
  const registered = history.find((e) => e.type === 'registered') ?? null;
  const disconnected = history.find((e) => e.type === 'disconnected');
  const timings: ReplayTimings = {
    handshakeTimeout:
      given.handshakeTimeout ?? (registered ? registered.expiresAt - registered.at : DEFAULT_TIMINGS.handshakeTimeout),
    reconnectTimeout:
      given.reconnectTimeout ??
      (disconnected ? disconnected.expiresAt - disconnected.at : DEFAULT_TIMINGS.reconnectTimeout),
    tombstoneTtl: given.tombstoneTtl ?? DEFAULT_TIMINGS.tombstoneTtl,
  };

  const first = history.find(replayable);
  const prefixSteps =
    first === undefined || first.type === 'registered'
      ? []
      : prefixFor(first, timings, socketBefore(history.slice(history.indexOf(first))));
  const start = prefixSteps[0]?.at ?? first?.at ?? history[0]!.at;
  const registeredTab = registered?.type === 'registered' ? registered.tabId : null;
  const sim: Sim = {
    state: 'handshaking',
    socket: null,
    tabId: prefixSteps.length > 0 ? null : registeredTab,
    now: start,
    deadline: start + timings.handshakeTimeout,
  };

  let prefix: ReplayCall[] | null = null;
  if (prefixSteps.length > 0) {
    prefix = [];
    for (const step of prefixSteps.slice(1)) {
      prefix.push(...moveTo(step.at, sim));
      prefix.push(...callsFor(step.event, sim));
      updateSim(step.event, sim, timings);
    }
  }

  const steps: ReplayStep[] = [];
  let outboxMessages = 0;
  for (const [index, event] of history.entries()) {
    if (event === registered && prefix === null) continue;
    if (event.type === 'undelivered' && !toGoneClient(event) && droppedWith(history, index - 1) === event) continue;
    if (!replayable(event)) {
      steps.push({ event, calls: null, lateBy: 0, expect: { state: sim.state, events: [], hooks: [] } });
      continue;
    }
    const calls: ReplayCall[] = [];
    const dropped = droppedWith(history, index);
    let expected: Recorded[] = dropped ? [event, dropped] : [event];
    let lateBy = 0;
    if (isTimeout(event)) {
      // the replay's timer fires at the deadline, or at once if the clock already stalled past it
      const fires = Math.max(sim.deadline ?? event.at, sim.now);
      lateBy = event.at - fires;
      if (dropped) calls.push({ kind: 'emit', count: dropped.count });
      calls.push({ kind: 'advance', ms: fires - sim.now });
      sim.now = fires;
      expected = expected.map((e) => ({ ...e, at: fires }));
    } else {
      calls.push(...moveTo(event.at, sim));
      if (dropped) calls.push({ kind: 'emit', count: dropped.count });
      calls.push(...callsFor(event, sim));
    }
    if (dropped) outboxMessages = Math.max(outboxMessages, dropped.count);
    const state = stateAfter[event.type] ?? sim.state;
    updateSim(event, sim, timings);
    steps.push({ event, calls, lateBy, expect: { state, events: expected, hooks: hookCallsFor(event) } });
  }

  return {
    clientId,
    start,
    timings,
    registration: prefix === null && registeredTab !== null ? { tabId: registeredTab } : {},
    outboxMessages: outboxMessages > DEFAULT_OUTBOX_MESSAGES ? outboxMessages : null,
    prefix,
    registered: prefix === null ? registered : null,
    steps,
    stories: history.filter(replayable).map(storyOf),
  };
}

/** Moves the replay's clock to `at`: a deadline the production timer met late must stay late. */
function moveTo(at: number, sim: Sim): ReplayCall[] {
  if (at <= sim.now) return [];
  const live = sim.state === 'handshaking' || sim.state === 'disconnected';
  const ms = at - sim.now;
  sim.now = at;
  return [live && sim.deadline !== null && at >= sim.deadline ? { kind: 'stall', ms } : { kind: 'advance', ms }];
}

/** A handshake on `socketId`, with the tab id the recorded event shows if the client did not have it yet. */
function handshake(socketId: string, tabId: string | null, sim: Sim): ReplayCall {
  return tabId !== null && tabId !== sim.tabId ? { kind: 'connect', socketId, tabId } : { kind: 'connect', socketId };
}

/** The calls that cause `event`. */
function callsFor(event: Recorded, sim: Sim): ReplayCall[] {
  switch (event.type) {
    case 'connected':
    case 'reconnected':
      // the page sends its tab id at every handshake; the event shows the one the client kept
      return [handshake(event.socketId, event.tabId, sim)];
    case 'socket-replaced':
      return [{ kind: 'connect', socketId: event.socketId }];
    case 'disconnected':
      return [{ kind: 'disconnect', socketId: event.socketId, reason: event.reason }];
    case 'deleted':
      if (event.reason === 'pruned') return [{ kind: 'sweep' }];
      if (event.reason === 'shutdown') return [{ kind: 'close' }];
      return [{ kind: 'delete', reason: event.reason }];
    case 'ignored':
      if (event.event === 'socket.handshake')
        return [{ kind: 'connect', socketId: event.socketId ?? sim.socket ?? BEFORE }];
      if (event.event === 'socket.disconnect') return [{ kind: 'disconnect', socketId: event.socketId ?? BEFORE }];
      if (event.event === 'client.prune') return [{ kind: 'prune' }];
      if (event.event === 'client.delete') return [{ kind: 'delete' }];
      return [];
    case 'undelivered':
      return [{ kind: 'emit', count: 1 }];
    default:
      return [];
  }
}

function updateSim(event: Recorded, sim: Sim, timings: ReplayTimings): void {
  switch (event.type) {
    case 'connected':
    case 'reconnected':
      sim.tabId = event.tabId;
      sim.state = 'connected';
      sim.socket = event.socketId;
      sim.deadline = null;
      return;
    case 'socket-replaced':
      sim.state = 'connected';
      sim.socket = event.socketId;
      sim.deadline = null;
      return;
    case 'disconnected':
      sim.state = 'disconnected';
      sim.socket = null;
      sim.deadline = event.at + timings.reconnectTimeout;
      return;
    case 'deleted':
      sim.state = 'deleted';
      sim.socket = null;
      sim.deadline = null;
      return;
    default:
      return;
  }
}

function hookCallsFor(event: Recorded): ExpectedHook[] {
  if (event.type === 'connected') return [{ hook: 'onConnect', reconnect: false }];
  if (event.type === 'reconnected') return [{ hook: 'onConnect', reconnect: true }];
  if (event.type === 'disconnected') return [{ hook: 'onDisconnect', reason: event.reason }];
  if (event.type === 'deleted') return [{ hook: 'onDelete', reason: event.reason }];
  return [];
}

/**
 * The socket a client was on when `events` begin, if one of them names it before a new socket
 * takes over: the replaced socket, the one that disconnects, the one it had when deleted.
 */
function socketBefore(events: readonly Recorded[]): string {
  for (const event of events) {
    switch (event.type) {
      case 'socket-replaced':
        return event.previousSocketId;
      case 'disconnected':
        return event.socketId;
      case 'deleted':
        return event.socketId ?? BEFORE;
      case 'ignored':
        if (event.why === 'replay' && event.socketId !== null) return event.socketId;
        break;
      case 'connected':
      case 'reconnected':
        return BEFORE;
      default:
        break;
    }
  }
  return BEFORE;
}

interface PrefixStep {
  at: number;
  event: Recorded;
}

/**
 * Steps that bring a newly registered client to the state `first` implies (the first step is
 * the registration, at the time the replay starts), timed so that a deadline `first` met falls
 * where it fell.
 */
function prefixFor(first: Recorded, timings: ReplayTimings, socket: string): PrefixStep[] {
  const at = first.at;
  const clientId = first.clientId;
  const ev = (extra: Record<string, unknown>, when: number): PrefixStep => ({
    at: when,
    event: { clientId, at: when, tabId: null, ...extra } as Recorded,
  });
  const register = (when: number) => ev({ type: 'registered' }, when);
  const connect = (socketId: string, when: number) => ev({ type: 'connected', socketId }, when);
  const disconnect = (socketId: string, when: number) =>
    ev({ type: 'disconnected', socketId, reason: 'transport close' }, when);
  const into = (state: ClientState | null, socketId: string, deadlineAt: number | null): PrefixStep[] => {
    switch (state) {
      case 'handshaking': {
        const when = deadlineAt === null ? at : deadlineAt - timings.handshakeTimeout;
        return [register(when)];
      }
      case 'connected':
        return [register(at), connect(socketId, at)];
      case 'disconnected': {
        const when = deadlineAt === null ? at : deadlineAt - timings.reconnectTimeout;
        return [register(when), connect(socketId, when), disconnect(socketId, when)];
      }
      case 'deleted':
        return [register(at), ev({ type: 'deleted', reason: 'manual' }, at)];
      default: {
        // unknown: deleted so long ago that its tombstone has expired
        const when = at - timings.tombstoneTtl;
        return [register(when), ev({ type: 'deleted', reason: 'manual' }, when)];
      }
    }
  };
  switch (first.type) {
    case 'connected':
      return [register(at)];
    case 'reconnected': {
      const when = at - first.downtime;
      return [register(when), connect(BEFORE, when), disconnect(BEFORE, when)];
    }
    case 'socket-replaced':
    case 'disconnected':
      return into('connected', socket, null);
    case 'deleted': {
      const due = first.reason === 'pruned' || isTimeout(first) ? at : null;
      return into(first.from, socket, due);
    }
    case 'ignored':
      return into(first.state, socket, null);
    case 'undelivered':
      return into(first.reason === 'already-deleted' ? 'deleted' : null, socket, null);
    default:
      return [register(at)];
  }
}
