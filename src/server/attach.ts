import type { Namespace, Server, Socket } from 'socket.io';
import { SupervisorError } from '../core/errors.js';
import type { SupervisorInternals } from '../core/internals.js';
import type { DisconnectReason, RejectCode } from '../core/types.js';
import { CLIENT_EVENTS, SERVER_EVENTS } from '../protocol.js';
import { type Admission, createAdmission, type Verdict } from './admission.js';
import { type Binding, boundClient, createSocketRegistry, deletedMessage, type SocketRegistry } from './bridge.js';

/** A socket.io `Server` or `Namespace` the supervisor can be attached to. */
export type AttachTarget = Server | Namespace;

/** Options of `supervisor.attach()`. */
export interface AttachOptions {
  /**
   * What happens to sockets that arrive on the namespace after `detach()`: `'refuse'` rejects
   * them with `SHUTTING_DOWN` (so nothing reaches your `connection` handlers unsupervised),
   * `'admit'` lets them through unsupervised (backing a gradual rollout out). After `close()`
   * sockets are always refused.
   * @default 'refuse'
   */
  afterDetach?: 'refuse' | 'admit';
}

/** The error socket.io hands to the browser as `connect_error`. */
export interface HandshakeError extends Error {
  data: { code: RejectCode };
}

/**
 * What the supervisor keeps in `socket.data` of every socket it admits (and what socket.io's
 * connection state recovery restores): type your server with it to read `socket.data.clientId`
 * in your own `io.on('connection')` handlers.
 * @example
 * const io = new Server<ClientEvents, ServerEvents, {}, SupervisedSocketData>(httpServer);
 * io.on('connection', (socket) => rooms.join(socket.data.clientId));
 */
export interface SupervisedSocketData {
  clientId: string;
}

/** One namespace the supervisor has been attached to, now or before. */
interface NamespaceState {
  /**
   * `attached`: handshakes are decided and sockets supervised. After `detach()`: `refusing`
   * (every socket is told SHUTTING_DOWN) or `admitting` (sockets pass unsupervised). After
   * `close()`: always `refusing`. socket.io cannot remove a middleware, so the namespace's one
   * middleware stays and follows this mode; attaching again reuses it.
   */
  mode: 'attached' | 'refusing' | 'admitting';
  onConnection: (socket: Socket) => void;
  /**
   * The `disconnect` and acknowledgement listeners of every socket of this namespace: one pair
   * for all of them, called with the socket as `this` (socket.io's sockets are event emitters),
   * which find the socket's binding, rather than two closures and a record per socket.
   */
  onDisconnect: (this: Socket, reason: DisconnectReason) => void;
  onAck: (this: Socket, seq: unknown) => void;
}

/** The adapter's state for one supervisor. */
interface Adapter {
  registry: SocketRegistry;
  admission: Admission;
  namespaces: Map<Namespace, NamespaceState>;
}

const adapters = new WeakMap<object, Adapter>();

function toNamespace(target: AttachTarget): Namespace {
  // a Server has of(); its main namespace is where io.use() and io.on('connection') go
  return typeof (target as Server).of === 'function' ? (target as Server).of('/') : (target as Namespace);
}

function adapterOf<TData>(internals: SupervisorInternals<TData>): Adapter {
  let adapter = adapters.get(internals);
  if (!adapter) {
    const registry = createSocketRegistry();
    // the core closes sockets and resolves them for onConnect through this bridge
    const { resolve, disconnect, send, resume, askAck } = registry;
    Object.assign(internals.bridge, { resolve, disconnect, send, resume, askAck });
    adapter = { registry, admission: createAdmission(internals), namespaces: new Map() };
    adapters.set(internals, adapter);
  }
  return adapter;
}

/**
 * Attaches the supervisor to a socket.io server or namespace; returns `detach()`.
 *
 * A handshake middleware validates `handshake.auth` before anything is looked up and binds the
 * socket to its client for the socket's whole life (`socket.data.clientId`); `connection` and
 * `disconnect` become the DESIGN events `socket.handshake` and `socket.disconnect`, delivered
 * straight to the client's actor. A socket restored by socket.io's connection state recovery,
 * which skips middlewares, is bound again from its restored `socket.data`, or told its client
 * was deleted.
 */
export function attach<TData>(
  target: AttachTarget,
  internals: SupervisorInternals<TData>,
  options: AttachOptions = {},
): () => void {
  const afterDetach = options.afterDetach ?? 'refuse';
  if (afterDetach !== 'refuse' && afterDetach !== 'admit') {
    throw new SupervisorError('INVALID_ARGUMENT', "attach(): afterDetach must be 'refuse' or 'admit'");
  }
  if (internals.isClosing()) throw new SupervisorError('CLOSED', 'attach(): the supervisor is closed');
  const nsp = toNamespace(target);
  const adapter = adapterOf(internals);
  const existing = adapter.namespaces.get(nsp);
  if (existing?.mode === 'attached') {
    throw new SupervisorError(
      'INVALID_ARGUMENT',
      `attach(): this supervisor is already attached to namespace "${nsp.name}" (a Server stands for its "/" namespace); call the detach() it returned first`,
    );
  }
  const state = existing ?? addNamespace(nsp, adapter, internals);
  state.mode = 'attached';
  nsp.on('connection', state.onConnection);

  let detached = false;
  function release(mode: NamespaceState['mode']): void {
    if (detached) return;
    detached = true;
    state.mode = mode;
    nsp.off('connection', state.onConnection);
    // sockets of this namespace are no longer watched: report them disconnected so their
    // clients get their grace period instead of staying `connected` forever
    for (const socket of watched(nsp, adapter.registry))
      unwatch(socket, adapter, state, internals, 'supervisor detached');
  }
  // close() leaves every namespace refusing, whatever afterDetach says: a closed supervisor must
  // not let sockets through to handlers that expect supervised clients
  const unregister = internals.onClose(() => release('refusing'));
  return function detach(): void {
    unregister();
    release(afterDetach === 'admit' ? 'admitting' : 'refusing');
  };
}

/**
 * The sockets of `nsp` the supervisor watches: those of socket.io's own map of the namespace's
 * sockets that the registry holds (a watched socket is in the registry from its `connection` until
 * its `disconnect` or `unwatch`). Not a set of its own per namespace: 27 B a socket (issue 21).
 */
function watched(nsp: Namespace, registry: SocketRegistry): Socket[] {
  const sockets: Socket[] = [];
  for (const socket of nsp.sockets.values()) if (registry.resolve(socket.id) === socket) sockets.push(socket);
  return sockets;
}

function addNamespace<TData>(nsp: Namespace, adapter: Adapter, internals: SupervisorInternals<TData>): NamespaceState {
  const { registry, admission } = adapter;
  const { now } = internals.options;
  const state: NamespaceState = {
    mode: 'attached',
    onConnection: (socket) => onConnection(socket, adapter, state, internals),
    onDisconnect(this: Socket, reason: DisconnectReason) {
      registry.forget(this);
      const bound = registry.bindings.get(this);
      if (bound === undefined) return;
      const binding = typeof bound === 'string' ? null : bound;
      // the server closed it because its client was deleted: the client is gone by the server's
      // own decision, so there is no race to report
      if (binding?.released) return;
      // a swap's old socket is reported with reason `replaced`, not socket.io's generic
      // `server namespace disconnect`, so its (stale-socket) disconnect says why it went
      const clientId = boundClient(bound);
      const why = binding?.replaced ? 'replaced' : reason;
      // a live client's actor gets the event straight from its record (one look-up, no DESIGN
      // event to convert); an unknown or deleted one goes to the supervisor, which reports it
      const event = { type: 'socket.disconnect', socketId: this.id, reason: why, at: now() } as const;
      if (!internals.host.deliver(internals.store.get(clientId), event)) {
        internals.dispatch({ type: 'socket.disconnect', clientId, socketId: this.id, reason: why });
      }
    },
    // a socket acknowledges its own client's messages only: the binding, not the payload, says whose
    onAck(this: Socket, seq: unknown) {
      const bound = registry.bindings.get(this);
      if (bound !== undefined) internals.acknowledge(boundClient(bound), seq);
    },
  };

  function reject(verdict: Extract<Verdict, { ok: false }>, next: (err?: Error) => void): void {
    if (!verdict.reported) {
      internals.send({
        type: 'handshake.rejected',
        clientId: verdict.clientId,
        code: verdict.code,
        message: verdict.message,
      });
    }
    const error = new Error(verdict.message) as HandshakeError;
    error.data = { code: verdict.code };
    next(error);
  }

  function admitted(socket: Socket, verdict: Verdict, next: (err?: Error) => void): void {
    if (!verdict.ok) {
      reject(verdict, next);
      return;
    }
    const { binding } = verdict;
    registry.bindings.set(socket, binding);
    (socket.data as SupervisedSocketData).clientId = binding.clientId;
    // cluster mode: the shared store already connected the client to this socket; if the socket
    // never connects, that must be undone. Otherwise (autoRegister) a client made for this socket:
    // if the socket never connects (the browser went away mid-handshake), nobody will ever hold
    // its credentials: delete it now rather than let it wait out handshakeTimeout
    const abandon =
      binding.release ??
      (binding.issued
        ? () => internals.dispatch({ type: 'client.delete', clientId: binding.clientId, reason: 'handshake-aborted' })
        : null);
    if (abandon) {
      socket.conn.once('close', abandon);
      binding.abandon = () => socket.conn.off('close', abandon);
    }
    next();
  }

  /** Cluster mode: the verdict came back after a round-trip, during which anything may have changed. */
  function admittedLater(socket: Socket, verdict: Verdict, next: (err?: Error) => void): void {
    if (!verdict.ok) {
      reject(verdict, next);
      return;
    }
    if (state.mode !== 'attached' || internals.isClosing()) {
      verdict.binding.release?.();
      reject(admission.shuttingDown() as Extract<Verdict, { ok: false }>, next);
      return;
    }
    // the browser went away during the round-trip: socket.io drops the socket without a
    // `connection`, and the connection's `close` has already fired
    if (socket.conn.readyState !== 'open') {
      verdict.binding.release?.();
      next();
      return;
    }
    admitted(socket, verdict, next);
  }

  nsp.use(function supervisorHandshake(socket, next) {
    if (state.mode === 'admitting') return void next();
    if (state.mode === 'refusing' || internals.isClosing()) {
      return reject(admission.shuttingDown() as Extract<Verdict, { ok: false }>, next);
    }
    const verdict = admission.admit(socket);
    // a promise only in cluster mode: a single node decides synchronously
    if (verdict instanceof Promise) return void verdict.then((later) => admittedLater(socket, later, next));
    admitted(socket, verdict, next);
  });
  adapter.namespaces.set(nsp, state);
  return state;
}

/** A socket restored by connection state recovery (middlewares skipped): its binding, or null if its client is gone. */
function recover<TData>(socket: Socket, adapter: Adapter, internals: SupervisorInternals<TData>): Binding | null {
  const clientId = (socket.data as Partial<SupervisedSocketData> | undefined)?.clientId;
  if (typeof clientId !== 'string') return null;
  const status = internals.store.status(clientId, internals.options.now());
  if (status === 'live') {
    const binding: Binding = { clientId, tabId: null, issued: null, address: socket.handshake.address ?? '' };
    adapter.registry.bindings.set(socket, binding);
    return binding;
  }
  const code: RejectCode = status === 'deleted' ? 'CLIENT_DELETED' : 'UNKNOWN_CLIENT';
  const message =
    status === 'deleted'
      ? `client ${clientId} was deleted while the connection was away; reload the page to get a new one`
      : `no client ${clientId} on this server; register a new one`;
  internals.send({ type: 'handshake.rejected', clientId, code, message });
  // already connected (socket.io skipped the middlewares): the closest to a connect_error
  socket.emit(SERVER_EVENTS.deleted, { clientId, reason: code, code, message });
  socket.disconnect();
  return null;
}

function onConnection<TData>(
  socket: Socket,
  adapter: Adapter,
  state: NamespaceState,
  internals: SupervisorInternals<TData>,
): void {
  if (state.mode !== 'attached') return;
  const { registry } = adapter;
  const bound = registry.bindings.get(socket) ?? (socket.recovered ? recover(socket, adapter, internals) : null);
  // a string: this socket is already connected and watched
  if (!bound || typeof bound === 'string') return;
  const binding = bound;
  // written only where it was set: adding the property to every binding cost each socket a
  // properties array (40 B) beside the binding (issue 21)
  if (binding.abandon !== undefined) {
    binding.abandon();
    binding.abandon = undefined;
  }
  const { clientId } = binding;
  const socketId = socket.id;
  registry.add(socket);
  const { serving } = internals;
  // cluster mode: nothing reaches the app's handlers once this node's lease has ended
  if (serving) socket.use((_packet, next) => void (serving() && next()));
  // `on`, not `once`: a socket disconnects once, and `once` wraps the listener in two objects
  socket.on('disconnect', state.onDisconnect);
  socket.on(CLIENT_EVENTS.ack, state.onAck);
  if (binding.issued) {
    socket.emit(SERVER_EVENTS.client, binding.issued);
    binding.issued = null;
  }
  // one look-up for the address and the event: a live client's actor gets the event straight from
  // its record (no DESIGN event to convert); an unknown or deleted one goes to the supervisor,
  // which reports it (issue 21: the same client was looked up three times per connect)
  const record = internals.store.get(clientId);
  if (record !== undefined) record.address = binding.address;
  const event = { type: 'socket.handshake', socketId, tabId: binding.tabId, at: internals.options.now() } as const;
  if (!internals.host.deliver(record, event)) {
    internals.dispatch({ type: 'socket.handshake', clientId, socketId, tabId: binding.tabId });
  }
  if (!socket.connected) {
    // the socket died before its handshake was processed: report it gone right away, so the
    // client does not stay `connected` on a dead socket (NiceGUI kept such clients forever)
    socket.off('disconnect', state.onDisconnect);
    state.onDisconnect.call(socket, 'transport close');
    return;
  }
  const current = internals.store.get(clientId);
  if (current?.state !== 'connected' || current.socketId !== socketId) {
    // the client was deleted between the middleware and now: this socket speaks for no one
    binding.released = true;
    socket.emit(SERVER_EVENTS.deleted, { clientId, reason: 'deleted', message: deletedMessage(clientId, 'deleted') });
    socket.disconnect();
    return;
  }
  // connected: from now on its listeners need only its client's id (unless the server is already
  // closing it, whose binding says why)
  if (!binding.replaced && !binding.released) registry.bindings.set(socket, clientId);
}

/** Stops watching a socket that stays open (detach): its client learns it as a disconnect. */
function unwatch<TData>(
  socket: Socket,
  adapter: Adapter,
  state: NamespaceState,
  internals: SupervisorInternals<TData>,
  reason: DisconnectReason,
): void {
  socket.off('disconnect', state.onDisconnect);
  socket.off(CLIENT_EVENTS.ack, state.onAck);
  adapter.registry.forget(socket);
  const bound = adapter.registry.bindings.get(socket);
  if (bound !== undefined && (typeof bound === 'string' || !bound.released)) {
    internals.dispatch({ type: 'socket.disconnect', clientId: boundClient(bound), socketId: socket.id, reason });
  }
}
