import { SNAPSHOT_KEYS } from '../../../machines/clientSnapshot.js';

/**
 * The fields of a client record every script returns (`HMGET rec ...RECORD_FIELDS`), in this
 * order: the snapshot's (`SNAPSHOT_KEYS`, the one list), then `data`, the owner (`node` and `inc`,
 * its incarnation) and `fence`. `tokenHash` and `lastSocketId` are kept in the record but never
 * returned.
 */
export const RECORD_FIELDS = [...SNAPSHOT_KEYS, 'data', 'node', 'inc', 'fence'] as const;

/**
 * The longest `data` (its JSON, in bytes) a record's hash holds; a longer one is kept apart, in the
 * client's data key (`{P}:x:<clientId>`, a string), and the hash has no `data` field. Redis keeps a
 * hash in its compact encoding (a listpack) only while each of its values is at most
 * `hash-max-listpack-value` bytes (64 by default): a single longer one turns the whole record into
 * a hash table, about 1.4 KB a client instead of 0.5–0.75 KB (issue 20). A `data` of 64 bytes or
 * less costs no key of its own. Every other field of a record is at most 64 bytes: a token hash is
 * 64 hex digits, and a `tabId` is refused above 64 printable ASCII characters (`MAX_TAB_ID`).
 */
export const DATA_INLINE_MAX = 64;

/**
 * The fields of a deletion journal entry, in the order scripts return them: the deletion, the
 * owner before it (`prevNode`, `prevInc`, `prevFence`), the client's snapshot and data as they
 * were, and how many messages were dropped with it.
 */
export const DELETION_FIELDS = [
  'deletionId',
  'clientId',
  'reason',
  'node',
  'inc',
  'fence',
  'at',
  'redelivered',
  'attempts',
  'prevNode',
  'prevInc',
  'prevFence',
  ...SNAPSHOT_KEYS,
  'data',
  'undelivered',
] as const;

/**
 * The outbox counters a client record keeps besides its snapshot (cluster delivery): the last
 * sequence number handed out, the highest one the page acknowledged, the size of the messages
 * kept, and when the oldest of them was queued (Redis TIME, ms; '' when none). Absent: 0.
 */
export const OUTBOX_FIELDS = ['seq', 'acked', 'obytes', 'oldestAt'] as const;

/** A list of names as a Lua table literal: `{'a', 'b'}`. */
export const luaList = (names: readonly string[]): string => `{${names.map((name) => `'${name}'`).join(', ')}}`;
