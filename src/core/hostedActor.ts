import { Actor, type AnyActorLogic, createActor, emit as emitEvent, setup } from 'xstate';

/**
 * The parts of XState 5's `Actor` a hosted actor reaches into. None is in XState's public types;
 * {@link hostedActorsFit} checks each of them on the installed XState before the host uses them,
 * and the host falls back to a plain `createActor` when one differs.
 */
interface ActorInternals {
  id: string;
  _parent?: unknown;
  _snapshot: unknown;
  _deferred: Array<() => void>;
  _actorScope: ActorScope;
  mailbox: object;
  _process(event: unknown): void;
  observers: Set<unknown>;
  eventListeners: Map<string, Set<(event: unknown) => void>>;
  update(snapshot: unknown, event: unknown): void;
  _initState(persisted: unknown): void;
  subscribe(...args: unknown[]): unknown;
  on(type: string, handler: (event: unknown) => void): unknown;
  _stop(): unknown;
}

/** What XState passes its logic and actions: `self` is the actor, the rest its per-actor closures. */
interface ActorScope {
  self: unknown;
  defer: (fn: () => void) => void;
  emit: (event: { type: string }) => void;
  stopChild: (child: ActorInternals) => void;
}

/** The fields of a machine snapshot that XState creates anew on each transition and never writes to afterwards. */
interface MachineSnapshotInternals {
  _nodes?: readonly object[];
  tags?: Set<string>;
  children?: object;
  historyValue?: object;
}

/** Receives every event a hosted actor emits (the lifecycle relay), with the record it was given. */
export type EmitTarget<TRecord> = (record: TRecord, event: never) => void;

/** What every hosted actor of one host shares: where its events go, and what its snapshots are. */
export interface ActorHost<TRecord> {
  relay: EmitTarget<TRecord>;
  /**
   * Commit XState's own snapshot objects (its methods in fields of each) rather than
   * {@link HostedSnapshot}s: for a supervisor with an `inspect` observer, as `@statelyai/inspect`
   * copies a snapshot by spreading it (`sanitizeContext`), which keeps its own fields only, and
   * serializes the copy through its `toJSON`.
   */
  plainSnapshots: boolean;
}

function refuseWrite(): never {
  throw new TypeError('socket.io-supervisor: an empty object shared by client actors was written to');
}

/**
 * A `Set` shared by every hosted actor while it has nothing in it. Adding to it throws: a hosted
 * actor replaces it with a `Set` of its own before adding (`subscribe`), so a write here would be a
 * path of XState's this module does not know, caught by {@link hostedActorsFit} and the tests
 * rather than shared between clients. A plain `Set` with an own `add`, not a subclass: code that
 * walks objects and their prototypes (an inspector) meets nothing that claims to be a set and is not.
 */
function sharedEmptySet<T>(): Set<T> {
  return Object.freeze(Object.defineProperty(new Set<T>(), 'add', { value: refuseWrite }));
}

const NO_OBSERVERS = sharedEmptySet<unknown>();
/** The `Map` counterpart of {@link sharedEmptySet}. */
const NO_LISTENERS = Object.freeze(
  Object.defineProperty(new Map<string, Set<(event: unknown) => void>>(), 'set', { value: refuseWrite }),
);
/**
 * The array counterpart: XState drains it with `shift()`, which leaves an empty array as it is;
 * nothing can be added to it (`push` throws, and it is not extensible).
 */
const NO_DEFERRED: Array<() => void> = Object.preventExtensions(
  Object.defineProperty([] as Array<() => void>, 'push', { value: refuseWrite }),
);
const NO_TAGS = sharedEmptySet<string>();
const NO_CHILDREN = Object.freeze({});
const NO_HISTORY = Object.freeze({});
/** One frozen `_nodes` array per configuration seen, keyed by its last state node. */
const sharedNodes = new WeakMap<object, readonly object[]>();
/**
 * The frozen `_nodes` of each atomic state value (a string) a hosted actor of a machine has
 * committed, so an actor restored into that state later needs no restore of XState's
 * ({@link restoredSnapshot}).
 */
const nodesByValue = new WeakMap<object, Map<string, readonly object[]>>();

/** A machine snapshot's own data fields, in XState 5's order; its methods are {@link SNAPSHOT_METHODS}. */
const SNAPSHOT_FIELDS = [
  'status',
  'output',
  'error',
  'machine',
  'context',
  '_nodes',
  'value',
  'tags',
  'children',
  'historyValue',
] as const;
/** The methods XState puts on every machine snapshot as own properties (the same functions on each). */
const SNAPSHOT_METHODS = ['matches', 'hasTag', 'can', 'getMeta', 'toJSON'] as const;

/**
 * A committed snapshot of a hosted actor: XState's machine snapshot with its five methods on a
 * prototype rather than in five fields of each snapshot (40 B). XState copies a snapshot by
 * spreading its own fields and adds the methods itself (`cloneMachineSnapshot`), and reads the
 * methods by name (`toJSON`, `getPersistedSnapshot`), so either place serves it; the prototype gets
 * XState's own functions, taken from a plain snapshot by {@link hostedActorsFit}.
 */
class HostedSnapshot {
  status: unknown;
  output: unknown;
  error: unknown;
  machine: unknown;
  context: unknown;
  _nodes: readonly object[];
  value: unknown;
  tags: Set<string>;
  children: object;
  historyValue: object;
  constructor(snapshot: Required<MachineSnapshotInternals> & Record<string, unknown>) {
    this.status = snapshot.status;
    this.output = snapshot.output;
    this.error = snapshot.error;
    this.machine = snapshot.machine;
    this.context = snapshot.context;
    this._nodes = snapshot._nodes;
    this.value = snapshot.value;
    this.tags = snapshot.tags;
    this.children = snapshot.children;
    this.historyValue = snapshot.historyValue;
  }
}
/** Whether {@link HostedSnapshot}'s prototype has XState's methods (set by the probe). */
let snapshotsHosted = false;
/** Whether a {@link restoredSnapshot} is what XState's restore makes (set by the probe). */
let restoresHosted = false;

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/** XState's own way of reporting a listener's error: thrown on its own, not into the transition. */
function reportUnhandledError(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

function call(handler: (event: unknown) => void, event: unknown): void {
  try {
    handler(event);
  } catch (error) {
    reportUnhandledError(error);
  }
}

/**
 * A client actor with the per-actor objects XState makes for every actor, and which a client's
 * actor leaves empty, shared instead (issue 21: about 1.2 KB of a live client's 2.5 KB). It is
 * XState's `Actor` (a subclass, created as `createActor` creates one) with:
 *
 * - no `eventListeners` map, `'*'` listener set and bound wrapper: the actor scope's `emit` hands
 *   each emitted event straight to the host's relay, between the listeners of the event's type and
 *   the `'*'` listeners that `actor.on()` adds (where XState would have called a `'*'` listener
 *   added first); the map is made by the first `on()`;
 * - no `observers` set until the first `subscribe()`;
 * - one `defer`, `emit` and `stopChild` for every actor's scope instead of three closures each
 *   (XState calls them as methods of the scope, whose `self` is the actor), and a mailbox that
 *   reaches its actor through a field ({@link mailboxFor});
 * - one empty deferred-action array between steps (`defer` makes the actor one for a step);
 * - each committed snapshot's empty `tags` set, empty `children` and `historyValue` and its
 *   `_nodes` array shared by every snapshot alike, and the snapshot a {@link HostedSnapshot}, with
 *   XState's methods on a prototype (`update`; unless {@link ActorHost.plainSnapshots}).
 *
 * The lifecycle is XState's own: every transition is still `logic.transition` in XState's
 * `_process`, every emitted event is still delivered by XState's deferred `emit` action.
 */
class HostedActor<TRecord> extends (Actor as unknown as new (logic: AnyActorLogic, options: object) => ActorInternals) {
  readonly #record: TRecord;
  readonly #host: ActorHost<TRecord>;

  constructor(logic: AnyActorLogic, options: object, record: TRecord, host: ActorHost<TRecord>) {
    super(logic, options);
    this.#record = record;
    this.#host = host;
    this.observers = NO_OBSERVERS;
    this.eventListeners = NO_LISTENERS;
    if (this._deferred.length === 0) this._deferred = NO_DEFERRED;
    if (HostedMailbox !== undefined) this.mailbox = new HostedMailbox(this);
    const scope = this._actorScope;
    scope.defer = defer;
    scope.emit = emit;
    scope.stopChild = stopChild;
  }

  /** What the scope's `emit` does for this actor: as XState's, with the relay as the first `'*'` listener. */
  emitted(event: { type: string }): void {
    const listeners = this.eventListeners;
    if (listeners === NO_LISTENERS) {
      try {
        this.#host.relay(this.#record, event as never);
      } catch (error) {
        reportUnhandledError(error);
      }
      return;
    }
    // XState takes the listeners before it calls any (one added meanwhile waits for the next event)
    const typed = [...(listeners.get(event.type) ?? [])];
    const wildcard = [...(listeners.get('*') ?? [])];
    for (const handler of typed) call(handler, event);
    try {
      this.#host.relay(this.#record, event as never);
    } catch (error) {
      reportUnhandledError(error);
    }
    for (const handler of wildcard) call(handler, event);
  }

  /**
   * A {@link restoredSnapshot} is the restored snapshot itself: XState's `restoreSnapshot` would
   * rebuild it from a persisted one (its configuration of state nodes, its state value, its tags,
   * a copy with empty children and history), which a client actor re-created for an event paid
   * each time. Anything else is restored by XState. Runs inside XState's constructor.
   */
  override _initState(persisted: unknown): void {
    if (persisted instanceof HostedSnapshot) this._snapshot = persisted;
    else super._initState(persisted);
  }

  override update(snapshot: unknown, event: unknown): void {
    super.update(compact(snapshot as MachineSnapshotInternals, !this.#host.plainSnapshots), event);
    // the array `defer` made for this step's actions, drained by XState (V8 would keep its 17 slots)
    if (this._deferred.length === 0) this._deferred = NO_DEFERRED;
  }

  override subscribe(...args: unknown[]): unknown {
    if (this.observers === NO_OBSERVERS) this.observers = new Set();
    return super.subscribe(...args);
  }

  override on(type: string, handler: (event: unknown) => void): unknown {
    if (this.eventListeners === NO_LISTENERS) this.eventListeners = new Map();
    return super.on(type, handler);
  }
}

/** A mailbox that reaches its actor through a field instead of a bound function (see {@link mailboxFor}). */
let HostedMailbox: (new (actor: ActorInternals) => object) | undefined;

/**
 * XState's `Mailbox` (not exported: taken from a plain actor's) with its actor in a field, and one
 * `_process` for all: XState gives each mailbox `actor._process.bind(actor)`, which the mailbox
 * calls as its own method (`this._process(event)`). A bound function is 48 B, the field 8.
 */
function mailboxFor(Base: new (process: (event: unknown) => void) => object) {
  return class HostedMailbox extends Base {
    readonly actor: ActorInternals;
    constructor(actor: ActorInternals) {
      super(processInActor);
      this.actor = actor;
    }
  };
}

function processInActor(this: { actor: ActorInternals }, event: unknown): void {
  this.actor._process(event);
}

/** Pushes onto the actor's deferred actions, making the array the first time in a step (the shared empty one between steps). */
function defer(this: ActorScope, fn: () => void): void {
  const self = this.self as ActorInternals;
  if (self._deferred === NO_DEFERRED) self._deferred = [fn];
  else self._deferred.push(fn);
}

function emit(this: ActorScope, event: { type: string }): void {
  (this.self as HostedActor<unknown>).emitted(event);
}

function stopChild(this: ActorScope, child: ActorInternals): void {
  const self = this.self as ActorInternals;
  if (child._parent !== self) {
    throw new Error(`Cannot stop child actor ${child.id} of ${self.id} because it is not a child`);
  }
  child._stop();
}

/**
 * The snapshot to commit: a {@link HostedSnapshot} of a machine snapshot XState made (one it
 * returned again, for a step that changed nothing, already is one), with its empty objects shared.
 */
function compact(snapshot: MachineSnapshotInternals, hosted: boolean): unknown {
  if (snapshot instanceof HostedSnapshot || snapshot._nodes === undefined) return snapshot;
  shareEmpty(snapshot);
  if (!hosted || !snapshotsHosted) return snapshot;
  return new HostedSnapshot(snapshot as Required<MachineSnapshotInternals> & Record<string, unknown>);
}

/**
 * Keeps the configuration of an active snapshot in an atomic state with nothing of its own (no
 * tags, children or history), by its state value, for {@link restoredSnapshot}: once per
 * configuration, when its nodes are first shared.
 */
function remember(snapshot: MachineSnapshotInternals & { status?: unknown; value?: unknown; machine?: unknown }): void {
  const { machine, value, _nodes: nodes } = snapshot;
  if (
    snapshot.status !== 'active' ||
    typeof value !== 'string' ||
    nodes === undefined ||
    snapshot.tags !== NO_TAGS ||
    snapshot.children !== NO_CHILDREN ||
    snapshot.historyValue !== NO_HISTORY ||
    typeof machine !== 'object' ||
    machine === null
  ) {
    return;
  }
  let known = nodesByValue.get(machine);
  if (known === undefined) {
    known = new Map();
    nodesByValue.set(machine, known);
  }
  known.set(value, nodes);
}

/**
 * The snapshot a hosted actor of `machine` restored into the atomic state `value` with `context`
 * starts from, as XState's `restoreSnapshot` would make it of a persisted snapshot with no
 * children and no history, with its empty objects shared: to be passed as the actor's `snapshot`
 * option. `undefined` (restore the persisted snapshot, as XState does) until a hosted actor of
 * the machine has committed a snapshot in that state, whose configuration it reuses, or when
 * the snapshots are not {@link HostedSnapshot}s. The caller vouches that the context holds no
 * actor (XState's restore would revive one).
 */
export function restoredSnapshot(machine: AnyActorLogic, value: string, context: object): unknown {
  if (!snapshotsHosted || !restoresHosted) return undefined;
  const nodes = nodesByValue.get(machine)?.get(value);
  if (nodes === undefined) return undefined;
  return new HostedSnapshot({
    status: 'active',
    output: undefined,
    error: undefined,
    machine,
    context,
    _nodes: nodes,
    value,
    tags: NO_TAGS,
    children: NO_CHILDREN,
    historyValue: NO_HISTORY,
  });
}

/** Swaps a snapshot's empty per-snapshot objects for shared ones (XState copies them before any change). */
function shareEmpty(snapshot: MachineSnapshotInternals): void {
  const { _nodes: nodes, tags, children, historyValue } = snapshot;
  if (nodes === undefined) return; // not a machine snapshot (an error)
  if (tags !== undefined && tags !== NO_TAGS && tags.size === 0) snapshot.tags = NO_TAGS;
  if (children !== undefined && children !== NO_CHILDREN && isEmpty(children)) snapshot.children = NO_CHILDREN;
  if (historyValue !== undefined && historyValue !== NO_HISTORY && isEmpty(historyValue)) {
    snapshot.historyValue = NO_HISTORY;
  }
  const last = nodes[nodes.length - 1];
  if (last === undefined) return;
  const shared = sharedNodes.get(last);
  if (shared === nodes) return;
  if (shared !== undefined && sameNodes(shared, nodes)) snapshot._nodes = shared;
  else if (shared === undefined) {
    const frozen = Object.freeze([...nodes]);
    sharedNodes.set(last, frozen);
    snapshot._nodes = frozen;
    remember(snapshot);
  }
}

function sameNodes(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Creates a hosted actor of `logic` (a machine), as `createActor(logic, options)` would, whose
 * emitted events go to `relay(record, event)`. Only when {@link hostedActorsFit} says so.
 */
export function createHostedActor<TRecord>(
  logic: AnyActorLogic,
  options: object,
  record: TRecord,
  host: ActorHost<TRecord>,
): unknown {
  return new HostedActor(logic, options, record, host);
}

let fit: boolean | undefined;

/**
 * Whether the installed XState has every internal {@link HostedActor} relies on, as 5.x has it:
 * checked once per process on a plain actor (the fields, the scope's functions and its `self`, a
 * snapshot's per-snapshot objects), then a hosted actor run through an emitting transition and a
 * final state (the relay gets the event, the snapshot's objects are the shared ones, nothing was
 * written to a shared set or map). If anything differs the host creates plain actors and listens
 * with `on('*')`, as before: more heap per live client, the same lifecycle.
 */
export function hostedActorsFit(): boolean {
  fit ??= probe();
  return fit;
}

function probe(): boolean {
  try {
    const machine = setup({
      types: {
        context: {} as { n: number },
        events: {} as { type: 'go' } | { type: 'end' },
        emitted: {} as { type: 'went' },
      },
    }).createMachine({
      context: { n: 0 },
      initial: 'a',
      states: {
        a: { on: { go: { target: 'b', actions: emitEvent({ type: 'went' }) } } },
        b: { on: { end: 'c' } },
        c: { type: 'final' },
      },
    });
    const plain = createActor(machine) as unknown as Partial<ActorInternals>;
    const scope = plain._actorScope;
    const snapshot = plain._snapshot as MachineSnapshotInternals | undefined;
    const prototype = Actor.prototype as unknown as Record<string, unknown>;
    const mailbox = plain.mailbox as { _process?: unknown } | undefined;
    const mailboxPrototype = (mailbox === undefined ? {} : Object.getPrototypeOf(mailbox)) as Record<string, unknown>;
    const shaped =
      typeof mailbox?._process === 'function' &&
      ['start', 'clear', 'enqueue', 'flush'].every((name) => typeof mailboxPrototype[name] === 'function') &&
      typeof mailboxPrototype.constructor === 'function' &&
      typeof prototype._process === 'function' &&
      plain.observers instanceof Set &&
      plain.eventListeners instanceof Map &&
      Array.isArray(plain._deferred) &&
      scope?.self === plain &&
      typeof scope.defer === 'function' &&
      typeof scope.emit === 'function' &&
      typeof scope.stopChild === 'function' &&
      ['update', 'subscribe', 'on', '_stop'].every((name) => typeof prototype[name] === 'function') &&
      Array.isArray(snapshot?._nodes) &&
      snapshot.tags instanceof Set &&
      typeof snapshot.children === 'object' &&
      typeof snapshot.historyValue === 'object';
    if (!shaped) return false;
    const keys = Object.keys(snapshot);
    const methods = SNAPSHOT_METHODS.map((name) => (snapshot as Record<string, unknown>)[name]);
    snapshotsHosted =
      keys.length === SNAPSHOT_FIELDS.length + SNAPSHOT_METHODS.length &&
      SNAPSHOT_FIELDS.every((name, i) => keys[i] === name) &&
      SNAPSHOT_METHODS.every((name, i) => keys[SNAPSHOT_FIELDS.length + i] === name) &&
      methods.every((method) => typeof method === 'function') &&
      // the same functions on every snapshot, so one prototype serves them all
      methods.every((method, i) => createActor(machine).getSnapshot()[SNAPSHOT_METHODS[i]!] === method);
    if (snapshotsHosted) {
      SNAPSHOT_METHODS.forEach((name, i) => {
        (HostedSnapshot.prototype as unknown as Record<string, unknown>)[name] = methods[i];
      });
    }
    HostedMailbox = mailboxFor(mailboxPrototype.constructor as new (process: (event: unknown) => void) => object);
    const seen: Array<{ type: string }> = [];
    const host: ActorHost<typeof seen> = {
      relay: (record: typeof seen, event: { type: string }) => {
        record.push(event);
      },
      plainSnapshots: false,
    };
    const hosted = new HostedActor(machine, {}, seen, host) as unknown as ReturnType<
      typeof createActor<typeof machine>
    >;
    hosted.start();
    hosted.send({ type: 'go' });
    const after = (hosted as unknown as ActorInternals)._snapshot as MachineSnapshotInternals;
    const shared =
      (hosted as unknown as ActorInternals).mailbox instanceof HostedMailbox &&
      (!snapshotsHosted || (after instanceof HostedSnapshot && hosted.getSnapshot().matches('b'))) &&
      after.tags === NO_TAGS &&
      after.children === NO_CHILDREN &&
      after.historyValue === NO_HISTORY &&
      Object.isFrozen(after._nodes);
    const restores = snapshotsHosted && restoreFits(machine, hosted, host);
    hosted.send({ type: 'end' });
    // (a stopped actor gets a plain mailbox back: XState makes a new one at its stop)
    const ok =
      shared &&
      seen.length === 1 &&
      seen[0]?.type === 'went' &&
      hosted.getSnapshot().status === 'done' &&
      NO_OBSERVERS.size === 0 &&
      NO_LISTENERS.size === 0 &&
      NO_TAGS.size === 0 &&
      NO_DEFERRED.length === 0;
    restoresHosted = ok && restores;
    if (!ok) {
      HostedMailbox = undefined;
      snapshotsHosted = false;
    }
    return ok;
  } catch {
    HostedMailbox = undefined;
    snapshotsHosted = false;
    restoresHosted = false;
    return false;
  }
}

/**
 * Whether {@link restoredSnapshot} makes, of the state `b` `hosted` has committed, what XState's
 * restore makes of its persisted snapshot (status, value, the context itself, the configuration,
 * no output, error, tags, children or history), and a hosted actor started from it runs on to the
 * final state as one restored by XState.
 */
function restoreFits(
  machine: AnyActorLogic,
  hosted: { getPersistedSnapshot(): unknown },
  host: ActorHost<Array<{ type: string }>>,
): boolean {
  const persisted = hosted.getPersistedSnapshot() as { context: object };
  const viaXState = (createActor(machine, { snapshot: persisted as never }) as unknown as ActorInternals)
    ._snapshot as Required<MachineSnapshotInternals> & Record<string, unknown>;
  restoresHosted = true;
  const direct = restoredSnapshot(machine, 'b', persisted.context) as HostedSnapshot | undefined;
  restoresHosted = false;
  if (
    direct === undefined ||
    viaXState.status !== direct.status ||
    viaXState.value !== direct.value ||
    viaXState.context !== direct.context ||
    viaXState.output !== direct.output ||
    viaXState.error !== direct.error ||
    viaXState.machine !== direct.machine ||
    !sameNodes(viaXState._nodes, direct._nodes) ||
    viaXState.tags.size !== 0 ||
    !isEmpty(viaXState.children) ||
    !isEmpty(viaXState.historyValue)
  ) {
    return false;
  }
  const restored = new HostedActor(machine, { snapshot: direct }, [], host) as unknown as ActorInternals & {
    start(): void;
    send(event: { type: string }): void;
    getSnapshot(): { status: string };
  };
  if (restored._snapshot !== direct) return false;
  restored.start();
  restored.send({ type: 'end' });
  return restored.getSnapshot().status === 'done';
}

/** The shared objects, for the tests that check nothing was written to them. */
export const sharedEmpties = {
  observers: NO_OBSERVERS,
  listeners: NO_LISTENERS,
  tags: NO_TAGS,
  deferred: NO_DEFERRED,
} as const;
