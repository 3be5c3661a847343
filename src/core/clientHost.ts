import { type AnyActorRef, createActor, type Snapshot } from 'xstate';
import { type ClientActor, type ClientEvent, clientMachine, registeredEvent } from '../machines/client.machine.js';
import {
  type ClientSnapshot,
  type ClientTimeouts,
  clientContext,
  persistedSnapshot,
} from '../machines/clientSnapshot.js';
import { CLIENT_ACTOR_ID, toClientEvent } from '../machines/supervisor.machine.js';
import type { ClientRecord, ClientStore } from '../store/clientStore.js';
import { type ActorHost, createHostedActor, hostedActorsFit, restoredSnapshot } from './hostedActor.js';
import { IdleQueue } from './idleQueue.js';
import type { LifecycleEvent, SupervisorEvent } from './types.js';

/** What the client host needs from the supervisor it works for. */
export interface ClientHostOptions<TData> {
  store: ClientStore<TData>;
  now: () => number;
  timeouts: ClientTimeouts;
  /**
   * Milliseconds idle before a client's actor may be passivated (twice that for one waiting for
   * a socket); `0`: at once, whatever the load; `false`: never.
   */
  passivateAfter: number | false;
  /** Live actors kept while events keep arriving; past it, the longest idle are passivated. */
  passivateAbove: number;
  /** The supervisor actor: every client actor's parent. */
  parent: () => AnyActorRef;
  /** Books what a client's machine decided (the lifecycle relay). */
  relay: (record: ClientRecord<TData>, event: LifecycleEvent) => void;
  /** Called when a client became idle: the supervisor arms its timer for the passivation. */
  onIdle: (passivateAt: number) => void;
  /**
   * Whether the event loop has been saturated lately ({@link createSaturationProbe}); asked only
   * when idle actors are due while events keep arriving. Default: never.
   */
  saturated?: () => boolean;
  /**
   * Whether client actors share the per-actor objects XState makes empty ({@link createHostedActor});
   * default: whenever the installed XState has the internals that relies on ({@link hostedActorsFit}).
   * `false` (the tests of the fallback): plain actors listened to with `on('*')`.
   */
  hosted?: boolean;
  /** Whether hosted client actors commit XState's own snapshot objects ({@link ActorHost.plainSnapshots}): with an `inspect` observer. */
  plainSnapshots?: boolean;
}

/** While the loop is saturated, how long passivation above `passivateAbove` waits before it looks again (ms, at most `passivateAfter`). */
export const SATURATED_RECHECK = 1000;

/** Whether a client's events go to its actor: its record is held and not deleted (else to the supervisor, which reports them). */
function isLive<TData>(record: ClientRecord<TData> | undefined): record is ClientRecord<TData> {
  return record !== undefined && record.state !== 'deleted';
}

/**
 * The virtual client actors of one supervisor. A client is always an XState actor logically,
 * not always in memory: a client idle for `passivateAfter` keeps only its record (whose
 * snapshot fields the relay commits after every transition), and its actor is re-created from
 * that snapshot for its next event, so the machine decides that event as it decides every other.
 *
 * The policy (`passivateAfter` > 0) never passivates what a burst is about to use: re-creating an
 * actor costs 35–40 µs (restore, stop, GC), three times the event itself, and connecting 10,000
 * sockets takes about as long as `passivateAfter`, so passivating on time alone re-created a
 * quarter to a half of the actors of a connect burst or a reconnect storm (issue 21). An actor
 * becomes eligible once idle for `passivateAfter`, a client waiting for a socket (`handshaking`,
 * `disconnected`) once idle for twice that; eligible actors are passivated longest idle first,
 * at once only as far as needed to bring the live actors down to `passivateAbove`, and all of
 * them once the whole server has had no event for `passivateAfter`. An idle server so settles
 * to compact snapshots; a busy one keeps the actors it is using. While the event loop is
 * saturated (a burst in progress), nothing is passivated above the cap either: the check is made
 * again every {@link SATURATED_RECHECK} ms, and the quiet rule still settles everything once the
 * burst is over. A loop saturated for good so keeps its actors live (about 1 KB each) until it
 * gets a breath or the heap reaches half of V8's limit (`HEAP_PRESSURE`), when passivation above
 * the cap resumes: the price of never re-creating, mid-burst, an actor the burst is about to use,
 * bounded by memory.
 */
export function createClientHost<TData>(options: ClientHostOptions<TData>) {
  const { store, now, timeouts, passivateAfter, passivateAbove, parent, relay, onIdle } = options;
  const saturated = options.saturated ?? (() => false);
  const recheck = passivateAfter === false ? 0 : Math.min(SATURATED_RECHECK, passivateAfter);
  /** Until when passivation above the cap waits, the loop having been found saturated. */
  let deferredUntil = Number.NEGATIVE_INFINITY;
  /** Active connected clients by when they may be passivated (all `now + passivateAfter`, so in order). */
  const idle = new IdleQueue<ClientRecord<TData>>();
  /** Active clients waiting for a socket (handshaking, disconnected), by when they may be passivated (all `now + 2 × passivateAfter`). */
  const idleWaiting = new IdleQueue<ClientRecord<TData>>();
  const waitingAfter = passivateAfter === false ? 0 : 2 * passivateAfter;
  /** When the last event reached a client (the quiet check). */
  let lastEventAt = Number.NEGATIVE_INFINITY;
  /** Where close() is in the records, across its batches. */
  let closing: Iterator<ClientRecord<TData>> | null = null;
  /** Actors taken off their records by {@link release}, for the supervisor to stop with the idle ones. */
  const released: ClientActor[] = [];

  /** What every started client actor of this host keeps as its options ({@link bind}). */
  let startedOptions: object | undefined;
  /** Whether client actors are {@link createHostedActor}'s (XState's internals as this module knows them). */
  const hosted = options.hosted ?? hostedActorsFit();
  /** What every hosted client actor of this host shares. */
  const actorHost: ActorHost<ClientRecord<TData>> = { relay, plainSnapshots: options.plainSnapshots ?? false };

  /**
   * Starts a new actor bound to its record. Once started, the actor's options are swapped for one
   * object shared by every client actor of this host. XState reads an actor's options only while
   * it creates and starts it (5.x: the snapshot to restore, the input, `devTools`); the object it
   * builds from them (`{ ...defaults, ...options }`) gets a hidden class of its own in V8 for every
   * actor, and holds the restored snapshot, with the context the actor started from, for the
   * actor's whole life: about 550 B of each live client's heap (issue 21, docs/performance.md).
   * The shared object keeps what is the same for every client (the parent, the id, XState's clock
   * and logger); a client's own `systemId` stays on the actor.
   */
  function bind(record: ClientRecord<TData>, actor: ClientActor): ClientActor {
    record.actor = actor;
    actor.start();
    const own = actor as unknown as { options: { systemId?: unknown; snapshot?: unknown; input?: unknown } };
    if (startedOptions === undefined) {
      const { systemId: _systemId, snapshot: _snapshot, input: _input, ...shared } = own.options;
      startedOptions = Object.freeze(shared);
    }
    own.options = startedOptions;
    return actor;
  }

  /** A plain XState actor listened to with `on('*')`: what a client actor is when {@link hosted} is false. */
  function listened(record: ClientRecord<TData>, actor: ClientActor): ClientActor {
    const deferred = (actor as unknown as { _deferred?: unknown[] })._deferred;
    actor.on('*', (event) => {
      relay(record, event);
      // XState runs an `emit` (each transition's one lifecycle event) as a deferred action, on an
      // array of the actor's that V8 grows to 17 slots at the first push and keeps when it is
      // emptied: 152 B for the rest of a live client's life (issue 21). The emit was taken off it
      // before this listener ran; emptying the array when nothing else waits on it gives them back.
      if (deferred?.length === 0) deferred.length = 0;
    });
    return actor;
  }

  /**
   * Creates a new client's actor, in `handshaking`, and books its `registered`. The actor is
   * restored from the record's snapshot rather than started at the machine's initial state: the
   * start runs the initial transition (the root's `initialise` assign, the entry's `registered`
   * emit, three intermediate snapshots) for an outcome the table fixes (every client starts in
   * `handshaking`, expiring `handshakeTimeout` after its creation): a whole register() in a
   * 100,000-client burst cost 39 µs of CPU with the start and 26 µs with the restore, more than
   * half of the difference the garbage collector's (issue 21, docs/performance.md). The
   * `registered` event is the one the machine's entry emits.
   */
  function spawn(record: ClientRecord<TData>): ClientActor {
    const actor = create(record);
    relay(record, registeredEvent(record));
    return actor;
  }

  /** The live client's actor, re-created from its record's snapshot if it was passivated. */
  function activate(record: ClientRecord<TData>): ClientActor {
    if (record.actor !== null) return record.actor;
    if (record.state === 'deleted') throw new Error(`client ${record.clientId} is deleted and has no actor`);
    return create(record);
  }

  /** The client's actor, from its record's snapshot, started and bound to the record. */
  function create(record: ClientRecord<TData>): ClientActor {
    const compact = record as ClientRecord<TData> & ClientSnapshot;
    const context = clientContext(record.clientId, compact, timeouts);
    // a hosted actor starts from its restored snapshot made directly, once a client has been in
    // this state (XState's restore rebuilt it from the persisted one: 8-10 µs of the 30 µs a
    // re-creation costs, and its garbage; issue 21, docs/performance.md)
    const restored =
      hosted && !actorHost.plainSnapshots ? restoredSnapshot(clientMachine, compact.state, context) : undefined;
    const actorOptions = {
      parent: parent(),
      // One id for every client, unique systemId each. XState names the done event after the
      // child's id (`xstate.done.actor.<id>`) and memoises transition candidates per event type
      // on the parent's state nodes, forever: a per-client id leaked ~400 B per client ever
      // deleted. The clientId travels in the actor's output and its systemId instead.
      id: CLIENT_ACTOR_ID,
      systemId: record.clientId,
      snapshot: (restored as Snapshot<unknown> | undefined) ?? persistedSnapshot(compact.state, context),
      // unused when restoring a snapshot; XState's types want it for a machine with input
      input: undefined as never,
    };
    if (hosted) return bind(record, createHostedActor(clientMachine, actorOptions, record, actorHost) as ClientActor);
    return bind(record, listened(record, createActor(clientMachine, actorOptions)));
  }

  /** A client's actor did something: it may be passivated once idle for `passivateAfter`. */
  function touch(record: ClientRecord<TData>): void {
    if (passivateAfter === false) return;
    const { state } = record;
    const at = now();
    // a delete is an event too: a burst of deletes is not a quiet server (it passivated every
    // client still to be deleted once the deletes had lasted passivateAfter)
    lastEventAt = at;
    if (state === 'deleted') {
      IdleQueue.remove(record);
      return;
    }
    const wasFirst = idle.size + idleWaiting.size === 0;
    if (state !== 'connected') idleWaiting.push(record, at + waitingAfter);
    else idle.push(record, at + passivateAfter);
    if (wasFirst || passivateAfter === 0) onIdle(at + passivateAfter);
  }

  /** The queue whose head is idle the longest (the earliest to become eligible). */
  function longestIdle(): IdleQueue<ClientRecord<TData>> | undefined {
    const a = idle.peek();
    const b = idleWaiting.peek();
    if (a === undefined) return b === undefined ? undefined : idleWaiting;
    return b === undefined || a.at <= b.at ? idle : idleWaiting;
  }

  /** Whether the server has had no event for `passivateAfter` at `at` (or passivates at once). */
  function quiet(at: number): boolean {
    return passivateAfter === 0 || at - lastEventAt >= (passivateAfter as number);
  }

  /** How many eligible actors may be passivated now: all of them when quiet, else those past the cap. */
  function allowance(at: number): number {
    if (quiet(at)) return Number.POSITIVE_INFINITY;
    return idle.size + idleWaiting.size - passivateAbove;
  }

  /**
   * Takes the actors of up to `limit` clients idle for `passivateAfter` off their records; the
   * caller (the supervisor, their parent) stops them. Their records keep their snapshot.
   */
  function passivateIdle(limit: number): ClientActor[] {
    const actors = released.splice(0, limit);
    const at = now();
    let allowed = allowance(at);
    while (actors.length < limit && allowed > 0) {
      const queue = longestIdle();
      const head = queue?.peek();
      if (head === undefined || head.at > at) break;
      const record = queue!.shift()!;
      allowed -= 1;
      if (record.actor && record.state !== 'deleted' && record.actor.getSnapshot().status === 'active') {
        actors.push(record.actor);
        record.actor = null;
      }
    }
    return actors;
  }

  /**
   * Takes a client's actor off its record at once, without any transition (cluster mode: the node
   * let the client go, or resets it to what the shared store holds); the record keeps its snapshot.
   * Only the parent may stop a child actor, so the supervisor stops it in its next passivation step
   * (the caller sends `clients.passivate`).
   */
  function release(record: ClientRecord<TData>): void {
    if (record.actor === null) return;
    released.push(record.actor);
    record.actor = null;
    IdleQueue.remove(record);
  }

  /** Delivers a DESIGN event: to the client's actor if it is live, else to the supervisor. */
  function dispatch(event: SupervisorEvent): void {
    const record = event.clientId === undefined ? undefined : store.get(event.clientId);
    if (isLive(record)) {
      activate(record).send(toClientEvent(event, now()));
      return;
    }
    const supervisor = parent();
    if (supervisor.getSnapshot().status === 'active') supervisor.send(event);
  }

  /**
   * Delivers a client-machine event straight to the client's actor, when the client is live (the
   * caller looked its record up, and has its event in the client machine's form): `false`, and
   * nothing sent, for an unknown or deleted client, whose events go to the supervisor as DESIGN
   * events ({@link dispatch}), which reports them.
   */
  function deliver(record: ClientRecord<TData> | undefined, event: ClientEvent): boolean {
    if (!isLive(record)) return false;
    activate(record).send(event);
    return true;
  }

  /** Up to `limit` more live clients to delete at shutdown, in registration order. */
  function nextToClose(limit: number): string[] {
    closing ??= store.records();
    const batch: string[] = [];
    while (batch.length < limit) {
      const next = closing.next();
      if (next.done) break;
      if (next.value.state !== 'deleted') batch.push(next.value.clientId);
    }
    return batch;
  }

  return {
    spawn,
    activate,
    release,
    touch,
    passivateIdle,
    dispatch,
    deliver,
    nextToClose,
    /**
     * When the next client may be passivated, if any is active: when the longest idle becomes
     * eligible, or (below the cap) when the server will have been quiet long enough.
     */
    nextPassivation(): number | undefined {
      const head = longestIdle()?.peek();
      if (head === undefined) return undefined;
      const whenQuiet = Math.max(head.at, lastEventAt + (passivateAfter as number));
      return allowance(head.at) > 0 ? Math.min(Math.max(head.at, deferredUntil), whenQuiet) : whenQuiet;
    },
    hasIdle(): boolean {
      if (released.length > 0) return true;
      const at = now();
      if ((longestIdle()?.peek()?.at ?? Number.POSITIVE_INFINITY) > at || allowance(at) <= 0) return false;
      if (quiet(at)) return true;
      // busy and over the cap: not while the loop is saturated (asked here only, not per event)
      if (at < deferredUntil) return false;
      if (!saturated()) return true;
      deferredUntil = at + recheck;
      return false;
    },
    /** How many clients have a live actor (leak checks, benchmarks). */
    activeCount(): number {
      let active = 0;
      for (const record of store.records()) if (record.actor !== null) active += 1;
      return active;
    },
  };
}

export type ClientHost<TData> = ReturnType<typeof createClientHost<TData>>;
