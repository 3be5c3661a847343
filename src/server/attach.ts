import type { Namespace, Server, Socket } from 'socket.io';
import { SERVER_EVENTS } from '../client/protocol.js';
import { isSupervisorError } from '../core/errors.js';
import type { SocketBridge, SupervisorInternals } from '../core/internals.js';
import type { AttachOptions, AttachTarget } from '../core/supervisor.js';
import type { DisconnectReason, RejectCode } from '../core/types.js';
import { createRateLimiter, type RateLimiter } from './rateLimiter.js';
import { parseAuth } from './validate.js';

/** What a socket is bound to at its handshake, for its whole life. */
interface Binding {
  clientId: string;
  tabId: string | null;
  /** Credentials to send as `supervisor:client` right after connect (autoRegister). */
  issued: { clientId: string; token: string } | null;
  /** The address the rate limits counted the handshake against (shown in the client's view). */
  address: string;
  /** Set when the server closes the socket because another socket of its client took over. */
  replaced?: boolean;
}

/** The error socket.io hands to the browser as `connect_error`. */
export interface HandshakeError extends Error {
  data: { code: RejectCode };
}

/** State shared by every namespace one supervisor is attached to. */
interface AdapterState {
  /** Live sockets by id, across every attached namespace: the socket bridge's lookup. */
  sockets: Map<string, Socket>;
  attached: number;
  previousBridge: Pick<SocketBridge, 'resolve' | 'disconnect'>;
  autoRegisterLimiter: RateLimiter | null;
  failureLimiter: RateLimiter | null;
}

const states = new WeakMap<object, AdapterState>();
const bindings = new WeakMap<Socket, Binding>();

export { SERVER_EVENTS };

function toNamespace(target: AttachTarget): Namespace {
  // a Server has of(); its main namespace is where io.use() and io.on('connection') go
  return typeof (target as Server).of === 'function' ? (target as Server).of('/') : (target as Namespace);
}

function stateOf<TData>(internals: SupervisorInternals<TData>): AdapterState {
  let state = states.get(internals);
  if (!state) {
    const { rateLimit, now } = internals.options;
    const limiter = (limit: { limit: number; window: number } | false | undefined) =>
      limit ? createRateLimiter({ ...limit, now }) : null;
    state = {
      sockets: new Map(),
      attached: 0,
      previousBridge: { resolve: internals.bridge.resolve, disconnect: internals.bridge.disconnect },
      autoRegisterLimiter: rateLimit ? limiter(rateLimit.autoRegister) : null,
      failureLimiter: rateLimit ? limiter(rateLimit.failedHandshakes) : null,
    };
    states.set(internals, state);
  }
  return state;
}

/**
 * Attaches the supervisor to a socket.io server or namespace; returns `detach()`.
 *
 * A handshake middleware validates `handshake.auth` before anything is looked up and binds the
 * socket to its client for the socket's whole life; `connection` and `disconnect` become the
 * DESIGN events `socket.handshake` and `socket.disconnect`. The supervisor's socket bridge is
 * pointed at the sockets of every attached namespace, so a replaced socket or one whose client
 * was deleted is closed from the server side.
 */
export function attach<TData>(
  target: AttachTarget,
  internals: SupervisorInternals<TData>,
  _options: AttachOptions = {},
): () => void {
  const nsp = toNamespace(target);
  const state = stateOf(internals);
  const { sockets } = state;
  const mine = new Set<Socket>();
  let detached = false;

  if (state.attached === 0) {
    internals.bridge.resolve = (socketId) => sockets.get(socketId);
    internals.bridge.disconnect = (socketId, why) => {
      const socket = sockets.get(socketId);
      if (!socket?.connected) return;
      // told first, then a namespace-level disconnect: the browser sees `io server disconnect`
      // and socket.io-client does not reconnect on its own (a replaced tab must not fight back)
      const binding = bindings.get(socket);
      if (binding && why === 'replaced') binding.replaced = true;
      socket.emit(why === 'replaced' ? SERVER_EVENTS.replaced : SERVER_EVENTS.deleted, {
        clientId: binding?.clientId ?? null,
        reason: why,
      });
      socket.disconnect();
    };
  }
  state.attached += 1;

  type Verdict =
    | { ok: true; binding: Binding }
    | { ok: false; clientId: string | null; code: RejectCode; message: string };
  const refuse = (code: RejectCode, message: string, clientId: string | null = null): Verdict => ({
    ok: false,
    clientId,
    code,
    message,
  });
  const SHUTTING_DOWN = 'the server is shutting down; reconnect in a moment';

  /** The address rate limits count this handshake against (`rateLimit.address`, else the socket's). */
  function addressOf(socket: Socket): string {
    const { rateLimit, logger } = internals.options;
    const own = socket.handshake.address ?? '';
    const pick = rateLimit ? rateLimit.address : undefined;
    if (!pick) return own;
    try {
      const address = pick(socket.handshake);
      return typeof address === 'string' ? address : own;
    } catch (error) {
      logger.warn({ err: error }, 'socket.io-supervisor: rateLimit.address threw; using the socket address');
      return own;
    }
  }

  /** Decides a handshake: validation first, then limits, then the credentials. */
  function admit(socket: Socket, address: string): Verdict {
    if (state.failureLimiter?.isLimited(address)) {
      return refuse('RATE_LIMITED', 'too many rejected handshakes from this address; wait and retry');
    }
    if (internals.isClosing()) return refuse('SHUTTING_DOWN', SHUTTING_DOWN);
    const parsed = parseAuth(socket.handshake.auth);
    if (!parsed.ok) return refuse('INVALID_HANDSHAKE', parsed.message);
    if (parsed.clientId !== null) {
      const verdict = internals.authenticate(parsed.clientId, parsed.token);
      if (!verdict.ok) return refuse(verdict.code, verdict.message, parsed.clientId);
      return { ok: true, binding: { clientId: parsed.clientId, tabId: parsed.tabId, issued: null, address } };
    }
    if (!internals.options.autoRegister) {
      return refuse(
        'INVALID_HANDSHAKE',
        'handshake auth has no clientId: pass the credentials from supervisor.register(), or enable autoRegister',
      );
    }
    if (state.autoRegisterLimiter && !state.autoRegisterLimiter.hit(address)) {
      return refuse('RATE_LIMITED', 'too many new clients from this address; wait and retry');
    }
    try {
      const issued = internals.register(parsed.tabId === null ? {} : { tabId: parsed.tabId });
      return { ok: true, binding: { clientId: issued.clientId, tabId: parsed.tabId, issued, address } };
    } catch (error) {
      if (isSupervisorError(error) && error.code === 'CLIENT_LIMIT') {
        return refuse('CLIENT_LIMIT', 'the server has as many clients as it accepts; retry later');
      }
      if (isSupervisorError(error) && error.code === 'CLOSED') return refuse('SHUTTING_DOWN', SHUTTING_DOWN);
      throw error;
    }
  }

  function middleware(socket: Socket, next: (err?: Error) => void): void {
    // socket.io has no way to remove a middleware; a detached one lets everything through
    if (detached) {
      next();
      return;
    }
    const address = addressOf(socket);
    let verdict: Verdict;
    try {
      verdict = admit(socket, address);
    } catch {
      verdict = refuse('INVALID_HANDSHAKE', 'the handshake could not be processed');
    }
    if (verdict.ok) {
      bindings.set(socket, verdict.binding);
      next();
      return;
    }
    if (verdict.code !== 'RATE_LIMITED') state.failureLimiter?.hit(address);
    internals.send({
      type: 'handshake.rejected',
      clientId: verdict.clientId,
      code: verdict.code,
      message: verdict.message,
    });
    const error = new Error(verdict.message) as HandshakeError;
    error.data = { code: verdict.code };
    next(error);
  }

  function onConnection(socket: Socket): void {
    const binding = bindings.get(socket);
    if (!binding || detached) return;
    const { clientId } = binding;
    const socketId = socket.id;
    sockets.set(socketId, socket);
    mine.add(socket);
    const onDisconnect = (reason: DisconnectReason) => {
      forget(socket);
      // a swap's old socket is reported with reason `replaced`, not socket.io's generic
      // `server namespace disconnect`, so its (stale-socket) disconnect says why it went
      const why = binding.replaced ? 'replaced' : reason;
      internals.dispatch({ type: 'socket.disconnect', clientId, socketId, reason: why });
    };
    disconnectListeners.set(socket, onDisconnect);
    socket.once('disconnect', onDisconnect);
    if (binding.issued) {
      socket.emit(SERVER_EVENTS.client, binding.issued);
      binding.issued = null;
    }
    internals.setAddress(clientId, binding.address);
    internals.dispatch({ type: 'socket.handshake', clientId, socketId, tabId: binding.tabId });
    if (!socket.connected) {
      // the socket died before its handshake was processed: report it gone right away, so the
      // client does not stay `connected` on a dead socket (NiceGUI kept such clients forever)
      socket.off('disconnect', onDisconnect);
      onDisconnect('transport close');
      return;
    }
    if (internals.get(clientId)?.socketId !== socketId) {
      // the client was deleted between the middleware and now: this socket speaks for no one
      socket.emit(SERVER_EVENTS.deleted, { clientId });
      socket.disconnect();
    }
  }

  const disconnectListeners = new WeakMap<Socket, (reason: DisconnectReason) => void>();

  function forget(socket: Socket): void {
    mine.delete(socket);
    if (sockets.get(socket.id) === socket) sockets.delete(socket.id);
  }

  nsp.use(middleware);
  nsp.on('connection', onConnection);

  function detach(): void {
    if (detached) return;
    detached = true;
    nsp.off('connection', onConnection);
    // socket.io keeps middlewares in an internal array and offers no removal; remove ours when
    // that array is there, so attach/detach cycles do not pile up functions
    const fns = (nsp as unknown as { _fns?: unknown[] })._fns;
    const index = fns?.indexOf(middleware) ?? -1;
    if (fns && index >= 0) fns.splice(index, 1);
    // sockets of this namespace are no longer watched: report them disconnected so their
    // clients get their grace period instead of staying `connected` forever
    for (const socket of [...mine]) {
      const listener = disconnectListeners.get(socket);
      if (listener) socket.off('disconnect', listener);
      forget(socket);
      const binding = bindings.get(socket);
      if (binding) {
        internals.dispatch({
          type: 'socket.disconnect',
          clientId: binding.clientId,
          socketId: socket.id,
          reason: 'supervisor detached',
        });
      }
    }
    state.attached -= 1;
    if (state.attached === 0) {
      internals.bridge.resolve = state.previousBridge.resolve;
      internals.bridge.disconnect = state.previousBridge.disconnect;
    }
  }

  const unregister = internals.onClose(detach);
  return function detachSupervisor(): void {
    unregister();
    detach();
  };
}
