/**
 * The wire protocol between the server adapter and the browser helper: event names, reject
 * codes, the handshake's `auth` keys. One module both sides import (as socket.io keeps its
 * packet types and reasons in a parser of their own), kept free of any import. The browser
 * helper is served as a directory (`dist/client/`), so the build puts a copy of this module's
 * output there, beside `client/index.js` (scripts/build.mjs).
 */

/** Events the server sends to a supervised socket. */
export const SERVER_EVENTS = {
  /** `{ clientId, token }`: the credentials of a client made by `autoRegister`, right after connect. */
  client: 'supervisor:client',
  /** `{ clientId, reason: 'replaced' }`: another socket of this client took over; this one is closed. */
  replaced: 'supervisor:replaced',
  /**
   * `{ clientId, reason, message }`: the client was deleted (`reason`: why, e.g. `shutdown` or
   * `kicked`; or a rejection code, also given as `code`, for a socket restored by connection state
   * recovery; `message`: what happened and what to do, for the page to show); this socket is
   * closed and speaks for no one.
   */
  deleted: 'supervisor:deleted',
  /** `(seq, event, ...args)`: a message of `to(clientId).emit()`, numbered per client from 1. */
  message: 'supervisor:message',
  /**
   * `(acked)`: sent on each new socket before the messages it re-sends: every message up to
   * `acked` was processed by a page of this client (another tab's, after a swap) and will not
   * come again.
   */
  resume: 'supervisor:resume',
  /**
   * `()`: the client's outbox passed half of a bound (`outbox.maxMessages` or `maxBytes`):
   * acknowledge what was processed now rather than after `ackDelay`. Sent at most once until an
   * acknowledgement comes (or a second passes); a page that ignores it (an older helper) is
   * acknowledged by its timer as before.
   */
  ackRequest: 'supervisor:ack-request',
} as const;

/** Events the browser helper sends to the server. */
export const CLIENT_EVENTS = {
  /** `(seq)`: every message up to `seq` has been processed by the page (and may be forgotten). */
  ack: 'supervisor:ack',
} as const;

/** The name of an event the server sends to a supervised socket (a value of {@link SERVER_EVENTS}). */
export type ServerEventName = (typeof SERVER_EVENTS)[keyof typeof SERVER_EVENTS];

/**
 * Codes of rejected handshakes, as the browser sees them in `connect_error.data.code`.
 * `UNAVAILABLE` is cluster mode's (Redis unreachable); it is the one code worth retrying as is.
 */
export const REJECT_CODES = [
  'INVALID_HANDSHAKE',
  'UNKNOWN_CLIENT',
  'BAD_TOKEN',
  'CLIENT_DELETED',
  'CLIENT_LIMIT',
  'SHUTTING_DOWN',
  'RATE_LIMITED',
  'UNAVAILABLE',
] as const;

/** A code of a rejected handshake, as the browser sees it in `connect_error.data.code`. */
export type RejectCode = (typeof REJECT_CODES)[number];

/** Rejections after which the page's client is gone for good: only a new page load (or a new client) helps. */
export const CLIENT_GONE_CODES: ReadonlySet<string> = new Set<RejectCode>(['CLIENT_DELETED', 'UNKNOWN_CLIENT']);

/** Rejections that say "not now": the same credentials are worth presenting again later. */
export const RETRY_LATER_CODES: ReadonlySet<string> = new Set<RejectCode>([
  'SHUTTING_DOWN',
  'UNAVAILABLE',
  'RATE_LIMITED',
  'CLIENT_LIMIT',
]);

/** Rejections of the credentials themselves: presenting them again can only fail the same way. */
export const REFUSED_CODES: ReadonlySet<string> = new Set<RejectCode>(['BAD_TOKEN', 'INVALID_HANDSHAKE']);

/** The keys a handshake's `auth` may carry; socket.io-client itself adds `pid` and `offset` for connection state recovery. */
export const AUTH_KEYS = ['clientId', 'token', 'tabId'] as const;
