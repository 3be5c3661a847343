/**
 * What a viewer may send over the inspector's namespace, validated. A viewer is authorized but
 * still a browser: socket.io hands a listener whatever arguments arrived, and a non-function in
 * the acknowledgement slot, called as one, threw out of the listener and crashed the process
 * (issue 15), even on a read-only inspector.
 */
import { isId } from '../core/ids.js';

/** The reply function of a socket.io event, if the sender asked for one. */
export type Ack = (reply: object) => void;

/** Splits a listener's arguments into the payload and the acknowledgement (only when it is a function). */
export function splitArgs(args: unknown[]): { payload: unknown; ack: Ack | null } {
  const last = args.at(-1);
  const ack = args.length > 1 && typeof last === 'function' ? (last as Ack) : null;
  return { payload: args[0], ack };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export type DeleteRequest = { ok: true; clientId: string } | { ok: false; error: string };

/** `delete` takes `{ clientId }` and nothing else. */
export function parseDelete(payload: unknown): DeleteRequest {
  if (!isPlainObject(payload) || !Object.hasOwn(payload, 'clientId')) {
    return { ok: false, error: 'delete needs { clientId }' };
  }
  const { clientId } = payload;
  if (!isId(clientId)) {
    return { ok: false, error: 'delete needs { clientId } with a client id (base64url, at most 64 characters)' };
  }
  return { ok: true, clientId };
}

/** `prune` takes nothing, or an empty object. */
export function parsePrune(payload: unknown): { ok: true } | { ok: false; error: string } {
  if (payload === undefined || payload === null || isPlainObject(payload)) return { ok: true };
  return { ok: false, error: 'prune takes no arguments' };
}

/** The most events one export may carry (a viewer keeps far fewer per client). */
export const MAX_EXPORT_EVENTS = 5000;

export type ExportRequest = { ok: true; clientId: string; events: unknown[] } | { ok: false; error: string };

/**
 * `export` takes `{ clientId, events }`: the client's history as the viewer recorded it, turned
 * into a test by the server. The events are checked again, one by one, where they are used.
 */
export function parseExport(payload: unknown): ExportRequest {
  if (!isPlainObject(payload)) return { ok: false, error: 'export needs { clientId, events }' };
  const { clientId, events } = payload;
  if (!isId(clientId)) {
    return { ok: false, error: 'export needs a client id (base64url, at most 64 characters)' };
  }
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_EXPORT_EVENTS) {
    return { ok: false, error: `export needs the client's events: 1 to ${MAX_EXPORT_EVENTS}` };
  }
  if (!events.every((event) => isPlainObject(event) && event.clientId === clientId)) {
    return { ok: false, error: 'export needs lifecycle events of that client only' };
  }
  return { ok: true, clientId, events };
}
