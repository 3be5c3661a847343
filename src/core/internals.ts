import type { SupervisorMachineEvent } from '../machines/supervisor.machine.js';
import type { ClientStore, Commit } from '../store/clientStore.js';
import type { Authentication } from './authenticate.js';
import type { ClientHost } from './clientHost.js';
import type { DeliveryDeps, DeliveryPort } from './delivery.js';
import type { Ownership } from './hookDispatch.js';
import type { HookTiming } from './hookRunner.js';
import type { ResolvedOptions } from './options.js';
import type { SocketBridge } from './socketBridge.js';
import type { RegisterOptions, Registration, SupervisorCore } from './supervisor.js';
import type { ClientView, LifecycleEvent, OwnershipContext, RejectCode, SupervisorEvent } from './types.js';

/** A handshake to decide against a shared store (cluster mode), with the socket it would bind. */
export interface RemoteAdmissionRequest {
  /** `null`: the socket brought no credentials (autoRegister, already allowed and rate-limited). */
  clientId: string | null;
  token: string | null;
  tabId: string | null;
  socketId: string;
}

export type RemoteVerdict =
  | {
      ok: true;
      clientId: string;
      /** Credentials to send as `supervisor:client` (a client made for this socket). */
      issued: Registration | null;
      /** Undoes what the admission committed if the socket never connects (its connection closed first). */
      release: () => void;
    }
  | { ok: false; clientId: string | null; code: RejectCode; message: string };

/**
 * The seams cluster mode builds its nodes on; a single-node supervisor uses none of them, so its
 * hot path keeps a synchronous handshake and the memory store.
 */
export interface SupervisorSeams<TData = unknown> {
  /** Where the node keeps its records (cluster mode: a mirror of the clients it owns). @default a MemoryStore */
  store?: ClientStore<TData>;
  /**
   * Decides handshakes against the shared store in one round-trip instead of the local records;
   * the handshake middleware waits for it. It never rejects: an unreachable store is a verdict
   * (`UNAVAILABLE`).
   */
  admitRemote?: (request: RemoteAdmissionRequest) => Promise<RemoteVerdict>;
  /**
   * Makes the delivery the core drives (flush on a new socket, acknowledgements, drops, views).
   * Cluster mode keeps outboxes in Redis and has its own `to()`; the core's `to()` then refuses.
   * @default the single-node outboxes in memory
   */
  delivery?: (deps: DeliveryDeps<TData>) => DeliveryPort<TData>;
  /** The ownership hooks' context from the store's hook context (cluster mode: node id and fence). */
  ownershipContext?: (hookContext: unknown) => OwnershipContext;
  /**
   * Whether this node may pass a socket's event to the app right now. Cluster mode: within its
   * lease, read on the monotonic clock as each event arrives (a process resumed after a pause
   * handles its sockets' data before its overdue timers, the lease's end among them). An event
   * that arrives outside it is dropped. @default absent: every event passes, with no check
   */
  serving?: () => boolean;
  /**
   * Whether client actors share the per-actor objects XState leaves empty (`hostedActor.ts`).
   * `false`: plain XState actors, as when the installed XState lacks an internal it relies on
   * (the tests of that fallback). @default whenever the installed XState has them
   */
  hostedActors?: boolean;
}

/**
 * What the socket.io adapter, the inspector, the metrics and the tests reach beyond the public
 * API. Not in the published types: reached through {@link internalsOf}, never a property.
 */
export interface SupervisorInternals<TData = unknown> {
  options: ResolvedOptions<TData, unknown>;
  store: ClientStore<TData>;
  host: ClientHost<TData>;
  bridge: SocketBridge;
  /** A DESIGN event straight to its client (or to the supervisor for unknown and deleted ids). */
  dispatch(event: SupervisorEvent): void;
  /** An event to the supervisor actor, unless it has stopped. */
  send(event: SupervisorMachineEvent): void;
  authenticate(clientId: string, token: string): Authentication;
  /** Cluster mode's asynchronous admission ({@link SupervisorSeams.admitRemote}); absent on a single node. */
  admitRemote?: SupervisorSeams<TData>['admitRemote'];
  /** {@link SupervisorSeams.serving}; absent on a single node. */
  serving?: SupervisorSeams<TData>['serving'];
  isClosing(): boolean;
  /** `close()` with its own bound instead of `closeTimeout` (a cluster node spends part of it first). */
  closeWithin(within: number): Promise<void>;
  /** Runs `cleanup` when the supervisor closes; returns a function that unregisters it. */
  onClose(cleanup: () => void): () => void;
  register(options?: RegisterOptions<TData>): Registration;
  get(clientId: string): ClientView<TData> | undefined;
  /** The page acknowledged every message up to `seq` (from a socket bound to `clientId`). */
  acknowledge(clientId: string, seq: unknown): void;
  /** How many cleanups run at close (leak checks: an attach/detach cycle must leave none). */
  closeHooks(): number;
  /** How many subscriptions `events$` has right now (leak checks). */
  eventSubscribers(): number;
  /** How many clients have hooks queued or running (leak checks). */
  pendingHooks(): number;
  /** Which clients this node owns, and their ownership hooks (cluster mode releases them as it lets clients go). */
  ownership: Ownership<TData>;
  /** Queues an event's hooks as the lifecycle relay does (cluster mode: a hook Redis says is due here). */
  runHooks(event: LifecycleEvent, view: ClientView<TData>, committed: Commit, context: unknown): void;
  /** Listens to hook durations (metrics); returns the unsubscribe function. */
  onHookSettled(listener: (timing: HookTiming) => void): () => void;
}

const internals = new WeakMap<object, SupervisorInternals<never>>();

/** Binds a supervisor to its internals (createSupervisorCore only). */
export function bindInternals<TData>(supervisor: SupervisorCore<TData>, inside: SupervisorInternals<TData>): void {
  internals.set(supervisor, inside as unknown as SupervisorInternals<never>);
}

/**
 * The internals of a supervisor made by `createSupervisor()` (any {@link SupervisorCore}: the
 * public `Supervisor` is one, with `attach()` added by the adapter).
 */
export function internalsOf<TData>(supervisor: SupervisorCore<TData>): SupervisorInternals<TData> {
  const inside = internals.get(supervisor);
  if (!inside) throw new TypeError('socket.io-supervisor: not a supervisor made by createSupervisor()');
  return inside as unknown as SupervisorInternals<TData>;
}
