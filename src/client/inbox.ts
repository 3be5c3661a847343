/**
 * The page's side of `supervisor.to(clientId).emit()`: messages arrive numbered per client; each
 * is handed to the app once and in order, whatever reconnects and socket swaps re-send, and what
 * was processed is acknowledged in batches so the server can forget it.
 *
 * No runtime import but the wire protocol (`../protocol.js`, copied beside it by the build):
 * served to the browser as it is.
 */
import type { Socket } from 'socket.io-client';
import { CLIENT_EVENTS, SERVER_EVENTS } from '../protocol.js';

/** Messages held while an earlier one is missing (only a misbehaving transport reorders them). */
const MAX_EARLY = 10_000;

/**
 * How long processed messages wait to be acknowledged together, by default: the server asks for an
 * acknowledgement sooner (`supervisor:ack-request`) when the client's outbox passes half a bound.
 */
export const DEFAULT_ACK_DELAY = 200;

export interface InboxOptions {
  /**
   * How long processed messages wait to be acknowledged together (sooner when the server asks).
   * @default 200 (ms)
   */
  ackDelay?: number;
  /** Called with what a message handler threw; without it the error is reported asynchronously. */
  onError?: (error: unknown, event: string) => void;
}

/** A handler of `supervised.on(event, handler)`: called with the arguments the server emitted. */
export type MessageHandler = (...args: any[]) => void;

function reportAsync(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (report) report(error);
  else
    setTimeout(() => {
      throw error;
    }, 0);
}

export function createInbox(socket: Socket, options: InboxOptions = {}) {
  const ackDelay = options.ackDelay ?? DEFAULT_ACK_DELAY;
  // each event's handlers, replaced (not changed) by on() and its undo: a message is handed to the
  // list as it was when it arrived, with no copy per message
  const handlers = new Map<string, readonly MessageHandler[]>();
  /** The last message processed, in order (the first message of a client is 1). */
  let processed = 0;
  let acknowledged = 0;
  const early = new Map<number, { event: string; args: unknown[] }>();
  let ackTimer: ReturnType<typeof setTimeout> | null = null;

  function acknowledge(): void {
    if (ackTimer !== null) {
      clearTimeout(ackTimer);
      ackTimer = null;
    }
    if (processed > acknowledged && socket.connected) {
      acknowledged = processed;
      socket.emit(CLIENT_EVENTS.ack, processed);
    }
  }

  function scheduleAck(): void {
    if (ackTimer === null) ackTimer = setTimeout(acknowledge, ackDelay);
  }

  function deliver(event: string, args: unknown[]): void {
    const list = handlers.get(event);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i += 1) {
      const handler = list[i]!;
      try {
        handler(...args);
      } catch (error) {
        if (options.onError) options.onError(error, event);
        else reportAsync(error);
      }
    }
  }

  /** Hands over the messages held for a gap that is now filled. */
  function drainEarly(): void {
    for (let next = early.get(processed + 1); next !== undefined; next = early.get(processed + 1)) {
      early.delete(processed + 1);
      processed += 1;
      deliver(next.event, next.args);
    }
  }

  socket.on(SERVER_EVENTS.message, (seq: unknown, event: unknown, ...args: unknown[]) => {
    if (!Number.isSafeInteger(seq) || typeof event !== 'string') return;
    const n = seq as number;
    if (n > processed + 1) {
      if (early.size < MAX_EARLY) early.set(n, { event, args });
      return;
    }
    if (n === processed + 1) {
      processed = n;
      deliver(event, args);
      drainEarly();
    }
    // a message the page already has (re-sent on a new socket) only needs acknowledging again
    scheduleAck();
  });
  // every message up to `acked` was processed by a page of this client: a page that took the
  // client over (a duplicated tab) starts after it; this page, which sent those acks, is past it
  socket.on(SERVER_EVENTS.resume, (acked: unknown) => {
    if (!Number.isSafeInteger(acked) || (acked as number) <= processed) return;
    processed = acked as number;
    for (const seq of [...early.keys()]) if (seq <= processed) early.delete(seq);
    drainEarly();
  });
  // the client's outbox passed half a bound on the server: acknowledge now, not after ackDelay
  // (the request comes after the messages sent before it, so those are processed already)
  socket.on(SERVER_EVENTS.ackRequest, () => acknowledge());
  // a new socket gets everything unacknowledged again: tell the server at once what is done
  socket.on('connect', () => {
    acknowledged = 0;
    if (processed > 0) acknowledge();
  });

  return {
    on(event: string, handler: MessageHandler): () => void {
      const list = handlers.get(event) ?? [];
      // a handler added twice is called once, as with a Set
      if (!list.includes(handler)) handlers.set(event, [...list, handler]);
      return () => {
        const current = handlers.get(event);
        if (current === undefined || !current.includes(handler)) return;
        const rest = current.filter((other) => other !== handler);
        if (rest.length === 0) handlers.delete(event);
        else handlers.set(event, rest);
      };
    },
    /** A new client for this page: its messages are numbered from 1 again. */
    reset(): void {
      processed = 0;
      acknowledged = 0;
      early.clear();
    },
  };
}
