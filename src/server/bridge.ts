import type { Socket } from 'socket.io';
import type { SocketBridge } from '../core/socketBridge.js';
import { SERVER_EVENTS } from '../protocol.js';

/** What a socket is bound to at its handshake, for its whole life. */
export interface Binding {
  clientId: string;
  tabId: string | null;
  /** The address the rate limits counted the handshake against (shown in the client's view). */
  address: string;
  /** Credentials to send as `supervisor:client` right after connect (autoRegister). */
  issued: { clientId: string; token: string } | null;
  /** Set when the server closes the socket because another socket of its client took over. */
  replaced?: boolean;
  /** Set when the server closes the socket because its client was deleted: nothing left to report. */
  released?: boolean;
  /** Undoes what the handshake prepared if the socket never connects (autoRegister). */
  abandon?: () => void;
  /** Cluster mode: undoes the claim the shared store committed, if the socket never connects. */
  release?: () => void;
}

/**
 * What the registry keeps for a socket: its {@link Binding} from the handshake until it is
 * connected, then its client's id alone (all a connected socket's listeners need: the binding's
 * other fields serve the handshake), and a binding again once the server closes it (`replaced`,
 * `released`). A binding object per connected socket was 56 B of its heap (issue 21).
 */
export type Bound = Binding | string;

/** The client a socket is bound to. */
export function boundClient(bound: Bound): string {
  return typeof bound === 'string' ? bound : bound.clientId;
}

/** The binding of a socket the server is about to close, made again from its client's id if need be. */
function closingBinding(bindings: WeakMap<Socket, Bound>, socket: Socket): Binding | undefined {
  const bound = bindings.get(socket);
  if (typeof bound !== 'string') return bound;
  const binding: Binding = { clientId: bound, tabId: null, address: '', issued: null };
  bindings.set(socket, binding);
  return binding;
}

/**
 * The sentence `supervisor:deleted` carries, for the page to show: what happened to its client
 * and what to do (the page's credentials name a client that is gone for good).
 */
export function deletedMessage(clientId: string, reason: string): string {
  const what =
    reason === 'shutdown'
      ? 'because the server shut down'
      : reason === 'outbox-overflow'
        ? 'because the page fell too far behind on the messages sent to it'
        : `by the server (${reason})`;
  return `client ${clientId} was deleted ${what}; reload the page to get a new one`;
}

/** Every live supervised socket of one supervisor, across the namespaces it is attached to. */
export interface SocketRegistry extends SocketBridge {
  bindings: WeakMap<Socket, Bound>;
  add(socket: Socket): void;
  forget(socket: Socket): void;
}

/**
 * The socket bridge the core calls: `resolve` hands `onConnect` its socket; `disconnect` closes a
 * socket from the server side. The browser is told why first (`supervisor:replaced` or
 * `supervisor:deleted`), then the namespace disconnects it, so it sees `io server disconnect` and
 * socket.io-client does not reconnect on its own: a replaced tab must not fight back. A `handoff`
 * (cluster mode) is the exception: the browser should reconnect, to another node.
 */
export function createSocketRegistry(): SocketRegistry {
  const sockets = new Map<string, Socket>();
  const bindings = new WeakMap<Socket, Bound>();
  return {
    bindings,
    add: (socket) => void sockets.set(socket.id, socket),
    forget(socket) {
      if (sockets.get(socket.id) === socket) sockets.delete(socket.id);
    },
    resolve: (socketId) => sockets.get(socketId),
    send(socketId, seq, event, count, first, second) {
      const socket = sockets.get(socketId);
      if (socket === undefined) return;
      // the usual one or two arguments without a spread (an array iterator per message)
      if (count === 1) socket.emit(SERVER_EVENTS.message, seq, event, first);
      else if (count === 2) socket.emit(SERVER_EVENTS.message, seq, event, first, second);
      else if (count === 0) socket.emit(SERVER_EVENTS.message, seq, event);
      else socket.emit(SERVER_EVENTS.message, seq, event, ...(first as unknown[]));
    },
    resume(socketId, acked) {
      sockets.get(socketId)?.emit(SERVER_EVENTS.resume, acked);
    },
    askAck(socketId) {
      sockets.get(socketId)?.emit(SERVER_EVENTS.ackRequest);
    },
    disconnect(socketId, why, reason) {
      const socket = sockets.get(socketId);
      if (!socket?.connected) return;
      const binding = closingBinding(bindings, socket);
      if (why === 'handoff') {
        // cluster mode: this node let the client go; closing the connection itself (no DISCONNECT
        // packet, which `disconnect(true)` still sends) makes socket.io-client see `transport
        // close` and reconnect, through the load balancer, to any node
        if (binding) binding.released = true;
        socket.conn.close();
        return;
      }
      if (binding) {
        if (why === 'replaced') binding.replaced = true;
        else binding.released = true;
      }
      const clientId = binding?.clientId ?? null;
      if (why === 'replaced') socket.emit(SERVER_EVENTS.replaced, { clientId, reason: 'replaced' });
      else {
        // `reason`: the delete reason (`shutdown`, `kicked`, ...), so the page can tell a restart
        // from a kick; `message`: the same in a sentence it can show
        const deleted = reason ?? 'deleted';
        const message = deletedMessage(clientId ?? 'of this page', deleted);
        socket.emit(SERVER_EVENTS.deleted, { clientId, reason: deleted, message });
      }
      socket.disconnect();
    },
  };
}
