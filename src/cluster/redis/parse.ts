import { viewOf } from '../../core/view.js';
import { SNAPSHOT_FIELDS, type SnapshotFieldKind } from '../../machines/clientSnapshot.js';
import { DELETION_FIELDS, RECORD_FIELDS } from './lua/fields.js';
import type { ClusterClientRecord, ClusterClientView, Deletion, OutboxSummary, QueuedMessage } from './records.js';

/**
 * Script replies are arrays of strings (every number is written by the script as a decimal
 * string, '' for null), so parsing is positional and does not depend on RESP2 or RESP3.
 */
type Reply = unknown;

/** A reply that must be an array (a script's answer), or a `TypeError` naming `what`. */
export function asArray(reply: Reply, what: string): Reply[] {
  if (!Array.isArray(reply)) throw new TypeError(`socket.io-supervisor/cluster: unexpected reply to ${what}`);
  return reply;
}

/** A reply element as text: '' for null (a missing field). */
export function asString(reply: Reply): string {
  if (reply === null || reply === undefined || reply === false) return '';
  return typeof reply === 'string' ? reply : String(reply);
}

type RecordField = (typeof RECORD_FIELDS)[number];

/**
 * How each field of a record a script returns is parsed: the snapshot's fields by their kind
 * (the one table, `SNAPSHOT_FIELDS`), then the data (JSON), the owner and the fence.
 */
const RECORD_KINDS = {
  ...SNAPSHOT_FIELDS,
  data: 'json',
  node: 'string?',
  inc: 'number?',
  fence: 'number',
} as const satisfies Record<RecordField, SnapshotFieldKind | 'json'>;

/** The record's property for a field: Redis calls the owner's incarnation `inc`. */
const propertyOf = (field: RecordField) => (field === 'inc' ? 'incarnation' : field);
type Unparsed = Exclude<keyof ClusterClientRecord, 'clientId' | ReturnType<typeof propertyOf>>;
/** Compile-time: every property of a record but its id is parsed from a field (else this names it). */
const _everyPropertyParsed: [Unparsed] extends [never] ? true : Unparsed = true;

function parseField(kind: SnapshotFieldKind | 'json', text: string): unknown {
  switch (kind) {
    case 'state':
      return text;
    case 'number':
      return Number(text);
    case 'number?':
      return text === '' ? null : Number(text);
    case 'string?':
      return text === '' ? null : text;
    case 'json':
      return text === '' ? null : JSON.parse(text);
  }
}

/** A snapshot field as a script takes it: text, '' for `null`. */
export function formatField(value: string | number | null): string {
  return value === null ? '' : String(value);
}

/** A record in RECORD_FIELDS order (and the client id) as a record. */
export function parseRecord<TData>(clientId: string, reply: Reply): ClusterClientRecord<TData> {
  const values = asArray(reply, 'a snapshot').map(asString);
  const record: Record<string, unknown> = { clientId };
  RECORD_FIELDS.forEach((field, i) => {
    record[propertyOf(field)] = parseField(RECORD_KINDS[field], values[i] ?? '');
  });
  return record as unknown as ClusterClientRecord<TData>;
}

/** A deletion journal entry in DELETION_FIELDS order. */
export function parseDeletion<TData>(reply: Reply): Deletion<TData> {
  const values = asArray(reply, 'a deletion').map(asString);
  const entry = Object.fromEntries(DELETION_FIELDS.map((field, i) => [field, values[i] ?? ''])) as Record<
    (typeof DELETION_FIELDS)[number],
    string
  >;
  const snapshot = RECORD_FIELDS.map((field) => {
    if (field === 'node') return entry.prevNode;
    if (field === 'inc') return entry.prevInc;
    if (field === 'fence') return entry.prevFence;
    return entry[field];
  });
  return {
    deletionId: entry.deletionId,
    clientId: entry.clientId,
    reason: entry.reason,
    fence: Number(entry.fence),
    at: Number(entry.at),
    redelivered: entry.redelivered === '1',
    attempts: Number(entry.attempts),
    previousOwner: entry.prevNode === '' ? null : { node: entry.prevNode, incarnation: Number(entry.prevInc) },
    client: parseRecord<TData>(entry.clientId, snapshot),
    undelivered: Number(entry.undelivered || 0),
  };
}

/** An outbox member, `<seq>|<at>|<emitId>|<payload>` with the payload `[event, ...args]` as JSON. */
export function parseMember(member: string): QueuedMessage {
  const first = member.indexOf('|');
  const second = member.indexOf('|', first + 1);
  const third = member.indexOf('|', second + 1);
  const [event, ...args] = JSON.parse(member.slice(third + 1)) as [string, ...unknown[]];
  return { seq: Number(member.slice(0, first)), at: Number(member.slice(first + 1, second)), event, args };
}

/** The sequence number of an outbox member, without parsing its payload. */
export function memberSeq(member: string): number {
  return Number(member.slice(0, member.indexOf('|')));
}

/** When an outbox member was queued (Redis TIME, ms), without parsing its payload. */
export function memberAt(member: string): number {
  const first = member.indexOf('|');
  return Number(member.slice(first + 1, member.indexOf('|', first + 1)));
}

/** `seq`, `acked`, `oldestAt` (as Redis keeps them, '' for none) as a view's outbox. */
export function parseOutbox(values: readonly unknown[]): OutboxSummary {
  const [seq, acked, oldestAt] = values.map(asString);
  const depth = Math.max(0, Number(seq || 0) - Number(acked || 0));
  return { depth, oldestAt: depth === 0 || !oldestAt ? null : Number(oldestAt) };
}

const EMPTY_OUTBOX: OutboxSummary = { depth: 0, oldestAt: null };

/** What `get()` and `list()` return: a record and its outbox, as Redis holds them. */
export function toClusterView<TData>(
  record: ClusterClientRecord<TData>,
  outbox: OutboxSummary = EMPTY_OUTBOX,
): ClusterClientView<TData> {
  return { ...viewOf(record, { ...outbox }), node: record.node, fence: record.fence };
}
