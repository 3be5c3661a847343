// Pure and self-contained (type imports only): the inspector page loads the compiled module in
// the browser as it is, to turn a client's history into a file to download.
import type { ClientState, LifecycleEvent } from '../core/types.js';

/** Options of {@link recordingToTest}. */
export interface RecordingToTestOptions {
  /** Where the generated file imports the kit from. @default 'socket.io-supervisor/testing' */
  importFrom?: string;
  /**
   * The app's hooks to replay the client through, e.g. `{ from: '../src/hooks.js' }` for
   * `import { hooks } from '../src/hooks.js'`. Without them the file replays the lifecycle only.
   */
  hooks?: { from: string; name?: string };
  /** The client's `data` (its view has it), for hooks that read it. Plain JSON. */
  data?: unknown;
  /**
   * The supervisor's timings when the history was recorded (the inspector's snapshot has them).
   * Each defaults to what the history shows (a `registered` or `disconnected` event's
   * `expiresAt`), else the supervisor's default.
   */
  handshakeTimeout?: number;
  reconnectTimeout?: number;
  tombstoneTtl?: number;
  /** The test's title. @default the client's id and what happened to it */
  title?: string;
}

type Recorded = LifecycleEvent;
type Sim = { state: ClientState; socket: string | null; now: number; deadline: number | null };

const DEFAULTS = { handshakeTimeout: 60000, reconnectTimeout: 3000, tombstoneTtl: 60000 };
const BEFORE = 'socket-before-the-recording';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A single-quoted JS string literal (JSON's escapes, its double quotes traded for single ones). */
function quote(text: string): string {
  const inner = JSON.stringify(text)
    .slice(1, -1)
    .replace(/\\.|'/g, (match) => (match === '\\"' ? '"' : match === "'" ? "\\'" : match))
    // valid in a string since ES2019, but line breaks to editors and older parsers
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return `'${inner}'`;
}

/** A JS literal of a JSON-like value; anything else (a function, NaN) is refused. */
function literal(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`recordingToTest: ${value} is not a finite number`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as object).filter(([, v]) => v !== undefined);
    return `{ ${entries.map(([k, v]) => `${IDENTIFIER.test(k) ? k : quote(k)}: ${literal(v)}`).join(', ')} }`;
  }
  throw new TypeError(`recordingToTest: cannot write ${typeof value} into a test`);
}

/** Text safe inside a `//` comment. */
function comment(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, ' ');
}

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

const stateAfter: Partial<Record<Recorded['type'], ClientState>> = {
  registered: 'handshaking',
  connected: 'connected',
  reconnected: 'connected',
  'socket-replaced': 'connected',
  disconnected: 'disconnected',
  deleted: 'deleted',
};

/** Whether the kit can cause this event from outside (the others are recorded as comments). */
function replayable(event: Recorded): boolean {
  if (event.type === 'ignored') return event.event !== 'client.timeout';
  return event.type in stateAfter;
}

function isTimeout(event: Recorded): boolean {
  return event.type === 'deleted' && (event.reason === 'handshake-timeout' || event.reason === 'reconnect-timeout');
}

function storyOf(event: Recorded): string {
  if (event.type === 'deleted') return `deleted (${event.reason})`;
  if (event.type === 'ignored') return `ignored ${event.event} (${event.why})`;
  if (event.type === 'disconnected') return `disconnected (${event.reason})`;
  return event.type;
}

/**
 * The source of a vitest file that replays one client's recorded lifecycle (the `LifecycleEvent`s
 * the inspector keeps per client, oldest first) through the testing kit, and asserts what was
 * observed: after each step the client's state, the events it was reported with (same times,
 * sockets, reasons) and the hooks the supervisor called. With `hooks`, the app's own hooks run
 * along, so a production incident becomes a regression test. Pure: no I/O, no imports.
 *
 * Events the kit cannot cause (`rejected` by the socket.io adapter, `hook-error`) are kept as
 * comments; a history whose first events were dropped starts by bringing the client into the
 * state its first event implies. A deadline the production timer met late is met on time.
 */
export function recordingToTest(history: readonly LifecycleEvent[], options: RecordingToTestOptions = {}): string {
  const clientId = checkHistory(history);
  const importFrom = options.importFrom ?? 'socket.io-supervisor/testing';
  const hookName = options.hooks?.name ?? 'hooks';
  if (options.hooks && !IDENTIFIER.test(hookName)) {
    throw new TypeError(`recordingToTest: hooks.name must be an identifier, got ${hookName}`);
  }
  const registered = history.find((e) => e.type === 'registered');
  const disconnected = history.find((e) => e.type === 'disconnected');
  const timings = {
    handshakeTimeout:
      options.handshakeTimeout ?? (registered ? registered.expiresAt - registered.at : DEFAULTS.handshakeTimeout),
    reconnectTimeout:
      options.reconnectTimeout ?? (disconnected ? disconnected.expiresAt - disconnected.at : DEFAULTS.reconnectTimeout),
    tombstoneTtl: options.tombstoneTtl ?? DEFAULTS.tombstoneTtl,
  };

  const lines: string[] = [];
  const body = (line = '') => lines.push(line === '' ? '' : `  ${line}`);
  const sim: Sim = { state: 'handshaking', socket: null, now: 0, deadline: null };
  const first = history.find(replayable);
  const prefix =
    first === undefined || first.type === 'registered'
      ? []
      : prefixFor(first, timings, socketBefore(history.slice(history.indexOf(first))));
  const start = prefix[0]?.at ?? first?.at ?? history[0]!.at;
  sim.now = start;

  const stories = history.filter(replayable).map(storyOf);
  // the first steps and the last ones: how it started and how it ended
  const told = stories.length > 6 ? [...stories.slice(0, 3), '…', ...stories.slice(-2)] : stories;
  const title = options.title ?? `client ${clientId.slice(0, 8)}: ${told.join(', ')}`;
  const span = history.at(-1)!.at - history[0]!.at;

  lines.push(
    `// Generated by recordingToTest() (socket.io-supervisor/testing) from client ${comment(clientId)}:`,
    `// ${history.length} recorded lifecycle events over ${span} ms. It replays them through the testing`,
    '// kit (the real supervisor on a fake clock, no sockets) and asserts what was observed: the',
    "// client's state after each step, the events it was reported with, the hooks that ran.",
    "import { expect, it } from 'vitest';",
    `import { createTestSupervisor } from ${quote(importFrom)};`,
  );
  if (options.hooks) lines.push(`import { ${hookName} } from ${quote(options.hooks.from)};`);
  lines.push('', `it(${quote(title)}, async () => {`);
  const settings = Object.entries({ start, ...timings, pruneInterval: 0 }).map(
    ([key, value]) => `${key}: ${literal(value)}`,
  );
  if (options.hooks) settings.push(`hooks: ${hookName}`);
  body(`const t = createTestSupervisor({ ${settings.join(', ')} });`);
  const registration = {
    ...(registered?.tabId ? { tabId: registered.tabId } : {}),
    ...(options.data === undefined ? {} : { data: options.data }),
  };
  body(`const c = t.client(${Object.keys(registration).length > 0 ? literal(registration) : ''});`);
  body('let events = 0;');
  body('let calls = 0;');
  body('/** What happened to the client since the last look: its events and the hooks called. */');
  body('const news = () => {');
  body('  const seen = {');
  body("    events: c.events.slice(events).filter((event) => event.type !== 'hook-error'),");
  body('    hooks: c.hookCalls.slice(calls).map((call) =>');
  body(
    "      call.hook === 'onConnect' ? { hook: call.hook, reconnect: call.reconnect } : { hook: call.hook, reason: call.reason },",
  );
  body('    ),');
  body('  };');
  body('  events = c.events.length;');
  body('  calls = c.hookCalls.length;');
  body('  return seen;');
  body('};');
  sim.deadline = start + timings.handshakeTimeout;

  if (prefix.length > 0) {
    body();
    body(`// The recording starts mid-life (its first events were dropped): first bring the client to`);
    body(`// what its first recorded event implies.`);
    for (const step of prefix.slice(1)) {
      moveTo(step.at, sim, body);
      apply(step.event, sim, body);
      updateSim(step.event, sim, timings);
    }
    body('await t.settle();');
    body('news();');
  } else if (registered) {
    body();
    body('// registered');
    body('await t.settle();');
    expectStep(registered, 'handshaking', [], body);
  }

  for (const event of history) {
    if (event === registered && prefix.length === 0) continue;
    body();
    if (!replayable(event)) {
      body(`// not replayed (the kit cannot cause it): ${comment(describe(event))}`);
      continue;
    }
    body(`// +${event.at - start} ms: ${comment(storyOf(event))}`);
    let expected: Recorded = event;
    if (isTimeout(event)) {
      // the replay's timer fires at the deadline, or at once if the clock already stalled past it
      const fires = Math.max(sim.deadline ?? event.at, sim.now);
      if (event.at !== fires) body(`// (in production its timer fired ${event.at - fires} ms later)`);
      body(`await t.advance(${fires - sim.now});`);
      sim.now = fires;
      expected = { ...event, at: fires };
    } else {
      moveTo(event.at, sim, body);
      apply(event, sim, body);
    }
    body('await t.settle();');
    const state = stateAfter[event.type] ?? sim.state;
    updateSim(event, sim, timings);
    expectStep(expected, state, hookCallsFor(event), body);
  }
  lines.push('});', '');
  return lines.join('\n');
}

/** Moves the replay's clock to `at`: a deadline the production timer met late must stay late. */
function moveTo(at: number, sim: Sim, body: (line?: string) => void): void {
  if (at <= sim.now) return;
  const live = sim.state === 'handshaking' || sim.state === 'disconnected';
  if (live && sim.deadline !== null && at >= sim.deadline) {
    body(`t.stall(${at - sim.now}); // past the deadline: its timer is late, as it was in production`);
  } else {
    body(`await t.advance(${at - sim.now});`);
  }
  sim.now = at;
}

/** The call that causes `event`. */
function apply(event: Recorded, sim: Sim, body: (line?: string) => void): void {
  switch (event.type) {
    case 'registered':
      return;
    case 'connected':
    case 'reconnected':
    case 'socket-replaced':
      body(`c.connect(${literal(event.socketId)});`);
      return;
    case 'disconnected':
      body(`c.disconnect(${literal(event.socketId)}, ${literal(event.reason)});`);
      return;
    case 'deleted':
      if (event.reason === 'pruned') body('t.prune();');
      else if (event.reason === 'shutdown') body('await t.close();');
      else body(`c.delete(${literal(event.reason)});`);
      return;
    case 'ignored':
      if (event.event === 'socket.handshake') body(`c.connect(${literal(event.socketId ?? sim.socket ?? BEFORE)});`);
      else if (event.event === 'socket.disconnect') body(`c.disconnect(${literal(event.socketId ?? BEFORE)});`);
      else if (event.event === 'client.prune') body('c.prune();');
      else if (event.event === 'client.delete') body('c.delete();');
      return;
    default:
      return;
  }
}

function updateSim(event: Recorded, sim: Sim, timings: typeof DEFAULTS): void {
  switch (event.type) {
    case 'connected':
    case 'reconnected':
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

function hookCallsFor(event: Recorded): object[] {
  if (event.type === 'connected') return [{ hook: 'onConnect', reconnect: false }];
  if (event.type === 'reconnected') return [{ hook: 'onConnect', reconnect: true }];
  if (event.type === 'disconnected') return [{ hook: 'onDisconnect', reason: event.reason }];
  if (event.type === 'deleted') return [{ hook: 'onDelete', reason: event.reason }];
  return [];
}

/** The recorded event as the replay reports it (its clientId is the replayed client's). */
function eventLiteral(event: Recorded): string {
  const { type, clientId: _, at, ...rest } = event as Recorded & Record<string, unknown>;
  const fields = Object.entries(rest).filter(([, value]) => value !== undefined);
  const tail = fields.map(([key, value]) => `, ${key}: ${literal(value)}`).join('');
  return `{ type: ${literal(type)}, clientId: c.clientId, at: ${literal(at)}${tail} }`;
}

function expectStep(event: Recorded, state: ClientState, hooks: object[], body: (line?: string) => void): void {
  body(`expect(c.state).toBe(${literal(state)});`);
  body('expect(news()).toEqual({');
  body(`  events: [${eventLiteral(event)}],`);
  body(`  hooks: ${literal(hooks)},`);
  body('});');
}

function describe(event: Recorded): string {
  if (event.type === 'hook-error') return `${event.hook} failed: ${event.message}`;
  if (event.type === 'rejected') return `a socket was rejected ${event.code}: ${event.message}`;
  if (event.type === 'ignored') return `ignored ${event.event} (${event.why})`;
  return event.type;
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
function prefixFor(first: Recorded, timings: typeof DEFAULTS, socket: string): PrefixStep[] {
  const at = first.at;
  const clientId = first.clientId;
  const ev = (extra: Record<string, unknown>, when: number): PrefixStep => ({
    at: when,
    event: { clientId, at: when, ...extra } as Recorded,
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
    default:
      return [register(at)];
  }
}
