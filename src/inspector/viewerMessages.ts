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

/** The columns a page can be sorted by (the table's headers; `tabId` is the node in cluster mode). */
export const SORT_KEYS = [
  'clientId',
  'state',
  'socketId',
  'address',
  'tabId',
  'data',
  'createdAt',
  'since',
  'expiresAt',
  'outbox',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** The most rows one page may ask for (the page shows 50). */
export const MAX_PAGE_SIZE = 200;
/** The longest search text a viewer may send (a client id is at most 64 characters). */
export const MAX_SEARCH = 200;
const STATES = ['handshaking', 'connected', 'disconnected'] as const;
const VIEW_KEYS = new Set(['state', 'search', 'cursor', 'limit', 'sort', 'seq']);

/** The page a viewer shows: what the server reads for it, now and at each refresh. */
export interface PageQuery {
  /** Only the clients in this state (`null`: every live state). */
  state: (typeof STATES)[number] | null;
  /** Single node: text found in any column; cluster: a client id or the start of one. `''`: none. */
  search: string;
  /** Where the page starts: a number the server handed out as a page's `next` (`null`: the first page). */
  cursor: number | null;
  limit: number;
  sort: { key: SortKey; asc: boolean } | null;
  /** Echoed in the page, so the viewer can ignore the answers to its earlier requests. */
  seq: number;
}

export type ViewRequest = { ok: true; query: PageQuery } | { ok: false; error: string };

/**
 * `view` takes `{ state?, search?, cursor?, limit?, sort?: { key, asc }, seq? }`, nothing else:
 * every field is bounded, since each one decides what the server reads (from Redis in cluster mode).
 */
export function parseView(payload: unknown): ViewRequest {
  if (!isPlainObject(payload)) return { ok: false, error: 'view needs { state?, search?, cursor?, limit?, sort? }' };
  const unknown = Object.keys(payload).find((key) => !VIEW_KEYS.has(key));
  if (unknown !== undefined) return { ok: false, error: `view: unknown field ${JSON.stringify(unknown.slice(0, 40))}` };
  const { state = null, search = '', cursor = null, limit = 50, sort = null, seq = 0 } = payload;
  if (state !== null && state !== '' && !STATES.includes(state as never)) {
    return { ok: false, error: `view: state must be one of ${STATES.join(', ')}` };
  }
  if (typeof search !== 'string' || search.length > MAX_SEARCH) {
    return { ok: false, error: `view: search must be text of at most ${MAX_SEARCH} characters` };
  }
  if (cursor !== null && !(Number.isSafeInteger(cursor) && (cursor as number) >= 0)) {
    return { ok: false, error: "view: cursor must be a page's next, as the server sent it" };
  }
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_PAGE_SIZE) {
    return { ok: false, error: `view: limit must be a whole number from 1 to ${MAX_PAGE_SIZE}` };
  }
  if (!Number.isSafeInteger(seq)) return { ok: false, error: 'view: seq must be a whole number' };
  let order: PageQuery['sort'] = null;
  if (sort !== null) {
    if (!isPlainObject(sort) || !SORT_KEYS.includes(sort.key as SortKey) || typeof sort.asc !== 'boolean') {
      return { ok: false, error: `view: sort must be { key: ${SORT_KEYS.join(' | ')}, asc: boolean }` };
    }
    order = { key: sort.key as SortKey, asc: sort.asc };
  }
  return {
    ok: true,
    query: {
      state: state === '' ? null : (state as PageQuery['state']),
      search: (search as string).trim(),
      cursor: cursor as number | null,
      limit: limit as number,
      sort: order,
      seq: seq as number,
    },
  };
}
