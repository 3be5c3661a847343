import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../../src/core/internals.js';
import type { ClientCounts, SupervisorEvent } from '../../src/core/types.js';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { compactSnapshot, snapshotFields } from '../../src/machines/clientSnapshot.js';

// Random command sequences over many clients, checked after every command against a tiny
// reference model written here, independently of the implementation.

const DEEP = process.env.FC_DEEP === '1';
const RUNS = DEEP ? 2000 : 200;
const SEED = DEEP ? Date.now() % 2 ** 31 : 20261124;
const H = 500; // handshakeTimeout
const R = 200; // reconnectTimeout

type State = 'handshaking' | 'connected' | 'disconnected' | 'deleted';
interface RefClient {
  state: State;
  socket: string | null;
  /** every socket this client ever had, for stale and duplicate events */
  sockets: string[];
  deadline: number | null;
  deletedWith: string | null;
}
interface Model {
  clients: RefClient[];
  now: number;
  closed: boolean;
}
interface Real {
  supervisor: Supervisor;
  ids: string[];
  hookLog: Map<string, string[]>;
  active: Map<string, number>;
  overlaps: string[];
  counts: ClientCounts | null;
  socketSeq: number;
}

/** Invariant checks performed (one per executed command): guards against trivial sequences. */
let checks = 0;

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i += 1) await Promise.resolve();
}

function expire(model: Model, until: number, reason: (c: RefClient) => string): void {
  for (const client of model.clients) {
    if (client.deadline !== null && client.deadline <= until && client.state !== 'deleted') {
      client.state = 'deleted';
      client.deletedWith = reason(client);
      client.deadline = null;
      client.socket = null;
    }
  }
}

function check(model: Model, real: Real): void {
  checks += 1;
  const { supervisor } = real;
  const live = model.clients
    .map((client, i) => ({ client, id: real.ids[i]! }))
    .filter(({ client }) => client.state !== 'deleted');
  // list() equals the model
  expect(
    supervisor
      .list()
      .map((v) => `${v.clientId}:${v.state}:${v.socketId}`)
      .sort(),
  ).toEqual(live.map(({ client, id }) => `${id}:${client.state}:${client.socket}`).sort());
  // counts$ equals the model
  const expected = { handshaking: 0, connected: 0, disconnected: 0, total: live.length };
  for (const { client } of live) expected[client.state as 'handshaking' | 'connected' | 'disconnected'] += 1;
  expect(real.counts).toEqual(expected);
  // no deadline is kept for a client that is connected or gone
  const { store } = internalsOf(supervisor);
  expect(store.deadlines.size).toBe(live.filter(({ client }) => client.state !== 'connected').length);
  // onDelete exactly once for every client gone, never for a live one, and always last
  model.clients.forEach((client, i) => {
    const log = real.hookLog.get(real.ids[i]!) ?? [];
    const deletes = log.filter((entry) => entry.startsWith('onDelete'));
    expect(deletes).toEqual(client.state === 'deleted' ? [`onDelete:${client.deletedWith}`] : []);
    if (deletes.length) expect(log.at(-1)).toBe(deletes[0]);
  });
  // hooks of one client never overlapped
  expect(real.overlaps).toEqual([]);
  // a live actor and its record agree: the record is what the client is kept as once passivated
  const { host } = internalsOf(supervisor);
  for (const { id } of live) {
    const record = store.get(id)!;
    if (record.actor) {
      expect(compactSnapshot(record.actor.getSnapshot())).toEqual(snapshotFields(record));
    }
  }
  // with passivateAfter 0, every client is passivated once the work around its event is done
  if (internalsOf(supervisor).options.passivateAfter === 0) expect(host.activeCount()).toBe(0);
}

/** An event to one client, straight to its actor (as the adapter sends it) or through a supervisor step. */
function deliver(r: Real, event: SupervisorEvent, direct: boolean): void {
  if (direct) r.supervisor.send(event);
  else r.supervisor.actor.send(event);
}

type Cmd = fc.AsyncCommand<Model, Real>;

class Register implements Cmd {
  check = (m: Model) => !m.closed;
  async run(m: Model, r: Real) {
    r.ids.push(r.supervisor.register().clientId);
    m.clients.push({ state: 'handshaking', socket: null, sockets: [], deadline: m.now + H, deletedWith: null });
    await settle();
    check(m, r);
  }
  toString = () => 'register';
}

class Handshake implements Cmd {
  constructor(
    readonly n: number,
    readonly kind: 'new' | 'replay',
    readonly direct: boolean,
  ) {}
  check = (m: Model) => !m.closed && m.clients.length > 0;
  async run(m: Model, r: Real) {
    const i = this.n % m.clients.length;
    const client = m.clients[i]!;
    const socketId = this.kind === 'replay' && client.socket ? client.socket : `s${++r.socketSeq}`;
    deliver(r, { type: 'socket.handshake', clientId: r.ids[i]!, socketId }, this.direct);
    if (client.state !== 'deleted') {
      client.state = 'connected';
      client.socket = socketId;
      client.sockets.push(socketId);
      client.deadline = null;
    }
    await settle();
    check(m, r);
  }
  toString = () => `handshake(#${this.n}, ${this.kind}${this.direct ? ', direct' : ''})`;
}

class Disconnect implements Cmd {
  constructor(
    readonly n: number,
    readonly kind: 'current' | 'stale' | 'duplicate',
    readonly direct: boolean,
  ) {}
  check = (m: Model) => !m.closed && m.clients.length > 0;
  async run(m: Model, r: Real) {
    const i = this.n % m.clients.length;
    const client = m.clients[i]!;
    const socketId =
      this.kind === 'current' && client.socket
        ? client.socket
        : this.kind === 'stale'
          ? (client.sockets.find((s) => s !== client.socket) ?? 'never-bound')
          : (client.sockets.at(-1) ?? 'never-bound');
    deliver(r, { type: 'socket.disconnect', clientId: r.ids[i]!, socketId, reason: 'transport close' }, this.direct);
    if (client.state === 'connected' && socketId === client.socket) {
      client.state = 'disconnected';
      client.socket = null;
      client.deadline = m.now + R;
    }
    await settle();
    check(m, r);
  }
  toString = () => `disconnect(#${this.n}, ${this.kind}${this.direct ? ', direct' : ''})`;
}

class Delete implements Cmd {
  constructor(readonly n: number) {}
  check = (m: Model) => !m.closed && m.clients.length > 0;
  async run(m: Model, r: Real) {
    const i = this.n % m.clients.length;
    const client = m.clients[i]!;
    const wasLive = client.state !== 'deleted';
    expect(r.supervisor.delete(r.ids[i]!, 'manual')).toBe(wasLive);
    if (wasLive) {
      client.state = 'deleted';
      client.deletedWith = 'manual';
      client.deadline = null;
      client.socket = null;
    }
    await settle();
    check(m, r);
  }
  toString = () => `delete(#${this.n})`;
}

class PruneAhead implements Cmd {
  /** A sweep stamped `ahead` ms in the future, as if the host timers were late. */
  constructor(readonly ahead: number) {}
  check = (m: Model) => !m.closed;
  async run(m: Model, r: Real) {
    r.supervisor.actor.send({ type: 'client.prune', now: m.now + this.ahead });
    expire(m, m.now + this.ahead, () => 'pruned');
    await settle();
    check(m, r);
  }
  toString = () => `prune(+${this.ahead} ms)`;
}

class PruneOne implements Cmd {
  /** A prune addressed to one client, stamped `ahead` ms in the future. */
  constructor(
    readonly n: number,
    readonly ahead: number,
  ) {}
  check = (m: Model) => !m.closed && m.clients.length > 0;
  async run(m: Model, r: Real) {
    const i = this.n % m.clients.length;
    const client = m.clients[i]!;
    deliver(r, { type: 'client.prune', clientId: r.ids[i]!, now: m.now + this.ahead }, this.n % 2 === 0);
    if (client.state !== 'deleted' && client.deadline !== null && client.deadline <= m.now + this.ahead) {
      client.state = 'deleted';
      client.deletedWith = 'pruned';
      client.deadline = null;
      client.socket = null;
    }
    await settle();
    check(m, r);
  }
  toString = () => `prune(#${this.n}, +${this.ahead} ms)`;
}

class Advance implements Cmd {
  /** `to-deadline` lands exactly on some client's deadline; `minus-one` one ms before it. */
  constructor(
    readonly how: 'ms' | 'to-deadline' | 'minus-one',
    readonly value: number,
  ) {}
  check = (m: Model) => !m.closed;
  async run(m: Model, r: Real) {
    const deadlines = m.clients.map((c) => c.deadline).filter((d): d is number => d !== null && d > m.now);
    let by = this.value;
    if (this.how !== 'ms' && deadlines.length > 0) {
      const target = deadlines[this.value % deadlines.length]!;
      by = target - m.now - (this.how === 'minus-one' ? 1 : 0);
    }
    vi.advanceTimersByTime(by);
    m.now += by;
    expire(m, m.now, (c) => (c.sockets.length === 0 ? 'handshake-timeout' : 'reconnect-timeout'));
    await settle();
    check(m, r);
  }
  toString = () => `advance(${this.how} ${this.value})`;
}

class Close implements Cmd {
  check = (m: Model) => !m.closed;
  async run(m: Model, r: Real) {
    await r.supervisor.close();
    for (const client of m.clients) {
      if (client.state !== 'deleted') {
        client.state = 'deleted';
        client.deletedWith = 'shutdown';
        client.deadline = null;
        client.socket = null;
      }
    }
    m.closed = true;
    // after close: every client gone, nothing pending, nothing listening
    expect(vi.getTimerCount()).toBe(0);
    expect(internalsOf(r.supervisor).pendingHooks()).toBe(0);
    check(m, r);
  }
  toString = () => 'close';
}

const lifecycleCommands = [
  fc.constant(new Register()),
  fc
    .tuple(fc.nat(20), fc.constantFrom('new' as const, 'replay' as const), fc.boolean())
    .map(([n, k, direct]) => new Handshake(n, k, direct)),
  fc
    .tuple(fc.nat(20), fc.constantFrom('current' as const, 'stale' as const, 'duplicate' as const), fc.boolean())
    .map(([n, k, direct]) => new Disconnect(n, k, direct)),
  fc.nat(20).map((n) => new Delete(n)),
  fc.integer({ min: 0, max: 2 * H }).map((ahead) => new PruneAhead(ahead)),
  fc.tuple(fc.nat(20), fc.integer({ min: 0, max: 2 * H })).map(([n, ahead]) => new PruneOne(n, ahead)),
  fc
    .tuple(fc.constantFrom('ms' as const, 'to-deadline' as const, 'minus-one' as const), fc.nat(300))
    .map(([how, value]) => new Advance(how, value)),
];
// close() ends a sequence (every later command is skipped), so it is drawn rarely and also run,
// with a full check, at the end of every sequence
const commands = [
  ...lifecycleCommands,
  ...lifecycleCommands,
  ...lifecycleCommands,
  ...lifecycleCommands,
  fc.constant(new Close()),
];

function setupReal(): Real {
  const hookLog = new Map<string, string[]>();
  const active = new Map<string, number>();
  const real: Real = {
    supervisor: undefined as unknown as Supervisor,
    ids: [],
    hookLog,
    active,
    overlaps: [],
    counts: null,
    socketSeq: 0,
  };
  const track = (name: string) => async (client: { clientId: string }, arg: unknown) => {
    const id = client.clientId;
    if ((active.get(id) ?? 0) > 0) real.overlaps.push(`${id}:${name}`);
    active.set(id, (active.get(id) ?? 0) + 1);
    const entry = name === 'onDelete' ? `onDelete:${String(arg)}` : name;
    hookLog.set(id, [...(hookLog.get(id) ?? []), entry]);
    await Promise.resolve();
    active.set(id, (active.get(id) ?? 1) - 1);
  };
  real.supervisor = createSupervisor({
    handshakeTimeout: H,
    reconnectTimeout: R,
    pruneInterval: 0,
    hooks: { onConnect: track('onConnect'), onDisconnect: track('onDisconnect'), onDelete: track('onDelete') },
  });
  real.supervisor.counts$.subscribe((counts) => {
    real.counts = counts;
  });
  return real;
}

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

describe(`lifecycle properties (${RUNS} runs, seed ${SEED})`, () => {
  it('should match the reference model after every command, whatever the order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 50, size: 'max' }), async (cmds) => {
        vi.setSystemTime(0);
        const real = setupReal();
        const model: Model = { clients: [], now: 0, closed: false };
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          if (!model.closed) await new Close().run(model, real);
        } finally {
          if (!model.closed) await real.supervisor.close();
          vi.clearAllTimers();
        }
      }),
      { numRuns: RUNS, seed: SEED, verbose: 1 },
    );
    // guard against a generator that degenerates into trivial sequences
    expect(checks / RUNS).toBeGreaterThan(10);
    process.stdout.write(`property runs: ${RUNS} sequences, ${checks} commands checked, seed ${SEED}\n`);
  }, 120_000);
});

describe('hooks under adversarial promise orders (fc.scheduler)', () => {
  it('should never overlap hooks of a client and always end with onDelete, once', async () => {
    vi.useRealTimers();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.nat(3), { minLength: 1, maxLength: 12 }), async (s, plan) => {
        const log = new Map<string, string[]>();
        const running = new Map<string, boolean>();
        const overlaps: string[] = [];
        const hook = (name: string) => (client: { clientId: string }) => {
          const id = client.clientId;
          if (running.get(id)) overlaps.push(`${id}:${name}`);
          running.set(id, true);
          log.set(id, [...(log.get(id) ?? []), name]);
          // fast-check decides when (and in which order across clients) each hook settles
          return s.schedule(Promise.resolve(name)).then(() => running.set(id, false));
        };
        const supervisor = createSupervisor({
          pruneInterval: 0,
          reconnectTimeout: 10_000,
          hooks: { onConnect: hook('onConnect'), onDisconnect: hook('onDisconnect'), onDelete: hook('onDelete') },
        });
        const ids = [0, 1, 2].map(() => supervisor.register().clientId);
        let socket = 0;
        for (const step of plan) {
          const id = ids[step % ids.length]!;
          const view = supervisor.get(id);
          if (!view) continue;
          if (step === 3) supervisor.delete(id);
          else if (view.state === 'connected') {
            supervisor.actor.send({
              type: 'socket.disconnect',
              clientId: id,
              socketId: view.socketId!,
              reason: 'transport close',
            });
          } else supervisor.actor.send({ type: 'socket.handshake', clientId: id, socketId: `s${++socket}` });
        }
        const closing = supervisor.close();
        await s.waitFor(closing);
        expect(overlaps).toEqual([]);
        for (const id of ids) {
          const entries = log.get(id) ?? [];
          expect(entries.filter((e) => e === 'onDelete')).toHaveLength(1);
          expect(entries.at(-1)).toBe('onDelete');
          // lifecycle order: connect and disconnect alternate, starting with connect
          for (const [i, entry] of entries.slice(0, -1).entries()) {
            expect(entry).toBe(i % 2 === 0 ? 'onConnect' : 'onDisconnect');
          }
        }
      }),
      { numRuns: DEEP ? 1000 : 100, seed: SEED },
    );
  }, 120_000);
});
