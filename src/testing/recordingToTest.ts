// The code-generation half of recordingToTest(): writes the vitest file that runs the replay
// replayPlan.ts plans. Pure and self-contained (its only runtime import is the replay beside it):
// the inspector's "export as test" turns a viewer's recorded history into a file with it.
import type { LifecycleEvent } from '../core/types.js';
import { planReplay, type ReplayCall, type ReplayPlan, type ReplayStep, storyOf } from './replayPlan.js';

/** Options of {@link recordingToTest}. */
export interface RecordingToTestOptions {
  /** Where the generated file imports the kit from. @default 'socket.io-supervisor/testing' */
  importFrom?: string;
  /**
   * The app's hooks to replay the client through, e.g. `{ from: '../src/hooks.js' }` for
   * `import { hooks } from '../src/hooks.js'`. Without them the file replays the lifecycle only.
   */
  hooks?: {
    /** The module the hooks are imported from, relative to the generated file. */
    from: string;
    /** The name they are exported as. @default 'hooks' */
    name?: string;
  };
  /** The client's `data` (its view has it), for hooks that read it. Plain JSON. */
  data?: unknown;
  /**
   * The supervisor's handshake timeout when the history was recorded (the inspector's snapshot
   * has it). @default what the history shows (a `registered` event's `expiresAt`), else 60000
   */
  handshakeTimeout?: number;
  /**
   * The supervisor's reconnect timeout when the history was recorded. @default what the history
   * shows (a `disconnected` event's `expiresAt`), else 3000
   */
  reconnectTimeout?: number;
  /** The supervisor's tombstone lifetime when the history was recorded. @default 60000 */
  tombstoneTtl?: number;
  /** The test's title. @default the client's id and what happened to it */
  title?: string;
}

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

type Line = (line?: string) => void;

/**
 * The source of a vitest file that replays one client's recorded lifecycle (the `LifecycleEvent`s
 * the inspector keeps per client, oldest first) through the testing kit, and asserts what was
 * observed: after each step the client's state, the events it was reported with (same times,
 * sockets, reasons, tab ids) and the hooks the supervisor called. With `hooks`, the app's own
 * hooks run along, so a production incident becomes a regression test. Pure: no I/O.
 *
 * Every field of an event the kit can cause is replayed as recorded: the tab id a page sent at its
 * handshake, each socket and reason, the messages a deletion dropped (`undelivered`, caused by
 * sending that many messages no page acknowledges). Events the kit cannot cause (a socket
 * `rejected` by the socket.io adapter, a `hook-error` of the app's hooks) are kept as comments; a
 * history whose first events were dropped starts by bringing the client into the state its first
 * event implies. A deadline the production timer met late is met on time.
 *
 * @example
 * const source = recordingToTest(inspectorHistory, { hooks: { from: '../src/hooks.js' } });
 * writeFileSync('test/incident-42.test.ts', source);
 */
export function recordingToTest(history: readonly LifecycleEvent[], options: RecordingToTestOptions = {}): string {
  const plan = planReplay(history, options);
  const importFrom = options.importFrom ?? 'socket.io-supervisor/testing';
  const hookName = options.hooks?.name ?? 'hooks';
  if (options.hooks && !IDENTIFIER.test(hookName)) {
    throw new TypeError(`recordingToTest: hooks.name must be an identifier, got ${hookName}`);
  }
  // the first steps and the last ones: how it started and how it ended
  const { stories } = plan;
  const told = stories.length > 6 ? [...stories.slice(0, 3), '…', ...stories.slice(-2)] : stories;
  const title = options.title ?? `client ${plan.clientId.slice(0, 8)}: ${told.join(', ')}`;
  const span = history.at(-1)!.at - history[0]!.at;

  const lines: string[] = [];
  const body: Line = (line = '') => lines.push(line === '' ? '' : `  ${line}`);
  lines.push(
    `// Generated by recordingToTest() (socket.io-supervisor/testing) from client ${comment(plan.clientId)}:`,
    `// ${history.length} recorded lifecycle events over ${span} ms. It replays them through the testing`,
    '// kit (the real supervisor on a fake clock, no sockets) and asserts what was observed: the',
    "// client's state after each step, the events it was reported with, the hooks that ran.",
    "import { expect, it } from 'vitest';",
    `import { createTestSupervisor } from ${quote(importFrom)};`,
  );
  if (options.hooks) lines.push(`import { ${hookName} } from ${quote(options.hooks.from)};`);
  lines.push('', `it(${quote(title)}, async () => {`);
  writeSetup(plan, options, hookName, body);

  if (plan.prefix !== null) {
    body();
    body(`// The recording starts mid-life (its first events were dropped): first bring the client to`);
    body(`// what its first recorded event implies.`);
    for (const call of plan.prefix) body(callLine(call));
    body('await t.settle();');
    body('news();');
  } else if (plan.registered !== null) {
    body();
    body('// registered');
    body('await t.settle();');
    writeExpect({ state: 'handshaking', events: [plan.registered], hooks: [] }, body);
  }
  for (const step of plan.steps) writeStep(step, plan.start, body);
  lines.push('});', '');
  return lines.join('\n');
}

function writeSetup(plan: ReplayPlan, options: RecordingToTestOptions, hookName: string, body: Line): void {
  const settings = Object.entries({ start: plan.start, ...plan.timings, pruneInterval: 0 }).map(
    ([key, value]) => `${key}: ${literal(value)}`,
  );
  if (plan.outboxMessages !== null) {
    // room for the messages the recording says were dropped, without an overflow of their own
    const bytes = Math.max(1048576, plan.outboxMessages * 64);
    settings.push(`outbox: ${literal({ maxMessages: plan.outboxMessages, maxBytes: bytes })}`);
  }
  if (options.hooks) settings.push(`hooks: ${hookName}`);
  body(`const t = createTestSupervisor({ ${settings.join(', ')} });`);
  const registration = {
    ...plan.registration,
    ...(options.data === undefined ? {} : { data: options.data }),
  };
  body(`const c = t.client(${Object.keys(registration).length > 0 ? literal(registration) : ''});`);
  if (plan.steps.some((step) => step.calls?.some((call) => call.kind === 'emit'))) {
    body('/** Messages sent to the client that no page acknowledges (what its `undelivered` events count). */');
    body('const send = (count: number) => {');
    body("  for (let i = 0; i < count; i++) t.supervisor.to(c.clientId).emit('message', i);");
    body('};');
  }
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
}

function writeStep(step: ReplayStep, start: number, body: Line): void {
  body();
  if (step.calls === null) {
    body(`// not replayed (the kit cannot cause it): ${comment(describe(step.event))}`);
    return;
  }
  body(`// +${step.event.at - start} ms: ${comment(storyOf(step.event))}`);
  if (step.lateBy !== 0) body(`// (in production its timer fired ${step.lateBy} ms later)`);
  for (const call of step.calls) body(callLine(call));
  body('await t.settle();');
  writeExpect(step.expect, body);
}

/** The kit's call for one step of the replay. */
function callLine(call: ReplayCall): string {
  switch (call.kind) {
    case 'advance':
      return `await t.advance(${call.ms});`;
    case 'stall':
      return `t.stall(${call.ms}); // past the deadline: its timer is late, as it was in production`;
    case 'connect': {
      const tab = call.tabId === undefined ? '' : `, ${literal({ tabId: call.tabId })}`;
      return `c.connect(${literal(call.socketId)}${tab});`;
    }
    case 'disconnect': {
      const reason = call.reason === undefined ? '' : `, ${literal(call.reason)}`;
      return `c.disconnect(${literal(call.socketId)}${reason});`;
    }
    case 'delete':
      return `c.delete(${call.reason === undefined ? '' : literal(call.reason)});`;
    case 'sweep':
      return 't.prune();';
    case 'prune':
      return 'c.prune();';
    case 'close':
      return 'await t.close();';
    case 'emit':
      return `send(${call.count});`;
  }
}

/** The recorded event as the replay reports it (its clientId is the replayed client's). */
function eventLiteral(event: LifecycleEvent): string {
  const { type, clientId: _, at, ...rest } = event as LifecycleEvent & Record<string, unknown>;
  const fields = Object.entries(rest).filter(([, value]) => value !== undefined);
  const tail = fields.map(([key, value]) => `, ${key}: ${literal(value)}`).join('');
  return `{ type: ${literal(type)}, clientId: c.clientId, at: ${literal(at)}${tail} }`;
}

function writeExpect(expected: ReplayStep['expect'], body: Line): void {
  body(`expect(c.state).toBe(${literal(expected.state)});`);
  body('expect(news()).toEqual({');
  if (expected.events.length === 1) body(`  events: [${eventLiteral(expected.events[0]!)}],`);
  else {
    body('  events: [');
    for (const event of expected.events) body(`    ${eventLiteral(event)},`);
    body('  ],');
  }
  body(`  hooks: ${literal(expected.hooks)},`);
  body('});');
}

function describe(event: LifecycleEvent): string {
  if (event.type === 'hook-error') return `${event.hook} failed: ${event.message}`;
  if (event.type === 'rejected') return `a socket was rejected ${event.code}: ${event.message}`;
  if (event.type === 'ignored') return `ignored ${event.event} (${event.why})`;
  if (event.type === 'undelivered') return `${event.count} message(s) undelivered (${event.reason})`;
  return event.type;
}
