/**
 * The key layout: every key and pub/sub channel of a cluster, the one table (docs/cluster-redis.md
 * points here; `test/cluster/scripts.test.ts` checks that the scripts build no key it lacks). Every
 * key is under one hash tag, `{prefix}` (default `{sup}`), so all of them live in one slot. A
 * pattern is written without the `{prefix}:` every key starts with. The store names every key a
 * script touches in its `KEYS` ({@link clusterKeys}; the script names them with `k('c', clientId)`
 * under the tag of `KEYS[1]`), but those the script can only learn from what it reads (a previous
 * owner's owned set, the records of the due deadlines), which it reads before its first write
 * (`discover`). The test build checks every command's keys (`defineScript`, KEY_CHECK_ENV).
 */
export const KEY_TABLE = {
  client: {
    pattern: 'c:<clientId>',
    type: 'hash',
    holds:
      'the client record: `tokenHash` (SHA-256 hex of the token; the token itself never reaches Redis), the snapshot (`SNAPSHOT_KEYS`: `state`, `socketId`, `tabId`, `createdAt`, `connectedAt`, `disconnectedAt`, `expiresAt`, `generation`), `data` (JSON) when 64 bytes or shorter (`DATA_INLINE_MAX`; else in the data key: the hash has no `data` field), owner `node` + `inc` (incarnation; empty while unowned), `fence`, `lastSocketId` (the last socket that disconnected: a replayed disconnect is told from a stale one); the outbox counters `seq` (last sequence number handed out), `acked` (highest acknowledged), `obytes` (size of the members kept), `oldestAt` (when the oldest unacknowledged one was queued)',
  },
  data: {
    pattern: 'x:<clientId>',
    type: 'string',
    holds:
      "a client's `data` (JSON) when longer than 64 bytes (`DATA_INLINE_MAX`), kept apart so that its record stays in Redis's compact hash encoding (a listpack: every value at most `hash-max-listpack-value`, 64 bytes by default); absent when the record holds it. Written with the record (register, restore), deleted with it",
  },
  tombstone: {
    pattern: 't:<clientId>',
    type: 'string, PX tombstoneTtl',
    holds: 'tombstone `<deletionId> <reason>`: a late handshake is told `CLIENT_DELETED`',
  },
  outbox: {
    pattern: 'o:<clientId>',
    type: 'sorted set',
    holds:
      'the outbox: messages of `to(clientId).emit()` not yet acknowledged, score = sequence number, member `<seq>|<at>|<emitId>|<payload>` (`at`: Redis TIME ms, payload `[event, ...args]` as JSON)',
  },
  emitIds: {
    pattern: 'e:<clientId>',
    type: 'sorted set',
    holds:
      'emit ids of the last `replayWindow` (30 s or 15 × commandTimeout) → when they ran: a repeated emit is queued once',
  },
  deadlines: {
    pattern: 'deadlines',
    type: 'sorted set',
    holds: 'clientId → `expiresAt` (ms, Redis TIME), for handshaking and disconnected clients',
  },
  state: { pattern: 'state:<state>', type: 'set', holds: 'clientIds per live state (counts, listing)' },
  owned: { pattern: 'owned:<node>:<inc>', type: 'set', holds: 'clientIds an incarnation owns' },
  node: {
    pattern: 'node:<node>',
    type: 'hash',
    holds:
      '`inc` (incarnation counter), `state` (`alive`, `leaving`, `dead`, `left`), `joinedAt`, `heartbeatAt`, `wseen` (the write counter its last heartbeat answered: a rollback shows as a lower one), `wb` (`<recovery>:<inc>`: this incarnation wrote back what it holds)',
  },
  nodes: { pattern: 'nodes', type: 'sorted set', holds: 'live nodes → last heartbeat (ms)' },
  reaping: {
    pattern: 'reaping',
    type: 'set',
    holds: '`<node>:<inc>` of ended incarnations whose clients are still to be released',
  },
  deletion: {
    pattern: 'd:<deletionId>',
    type: 'hash',
    holds:
      'deletion journal entry (`DELETION_FIELDS`): clientId, reason, assigned `node` + `inc`, `fence`, `at`, `redelivered`, `attempts`, previous owner and fence, the client snapshot and data, `undelivered` (messages its page never acknowledged, dropped with it)',
  },
  deletions: {
    pattern: 'dels:<node>:<inc>',
    type: 'set',
    holds: 'deletions assigned to an incarnation, not completed',
  },
  orphans: { pattern: 'orphans', type: 'set', holds: 'deletions whose incarnation ended before completing them' },
  unheld: {
    pattern: 'unheld',
    type: 'set',
    holds:
      'during a recovery after a rollback, once every live node wrote back: the clients no live incarnation owns, dropped a batch per reap without a hook',
  },
  schema: {
    pattern: 'schema',
    type: 'hash',
    holds:
      '`layout` (the key layout: 2, every key under one `{prefix}` tag, a long `data` in its own key) and `partitions` (1): written by the first join, checked by every join (a node of another layout or partition count is refused `KEY_LAYOUT_MISMATCH`); absent in a Redis written before it, which is layout 1. A join of layout 2 upgrades a Redis of layout 1 (its records are valid records of layout 2) when no node of layout 1 is live, and is refused `KEY_LAYOUT_MISMATCH` while one is (see `KEY_LAYOUT`)',
  },
  meta: {
    pattern: 'meta',
    type: 'hash',
    holds:
      '`epoch` (changes only when Redis lost its data or went back to older data), `writes` (the write counter: every script that writes adds one), `lastTick` (ms), `graceFrom` (set after an outage until overdue deadlines are pushed), `ver` (the ownership version: raised by every step that takes a client from its owner or sends an owner a notice; a node re-checks what it holds only when it moved); during a recovery after a rollback `recovery` (its id), `recoveryAt` (ms), `recoveryPhase` (`reaping` once every live node wrote back)',
  },
  notices: {
    pattern: 'notice:<node>',
    type: 'pub/sub channel',
    holds:
      '`replaced` / `deleted` notices to a client’s previous owner; `message` notices (a message queued by another node) to its owner',
  },
  watch: {
    pattern: 'watch:<clientId>',
    type: 'pub/sub channel',
    holds:
      '`connected` (a claim connected it) and `deleted`: what `connected()` waits for on a node that does not hold the client',
  },
} as const satisfies Record<string, { pattern: string; type: string; holds: string }>;

/**
 * The key layout this release writes and reads (`{prefix}:schema`, checked at `join`): layout 2,
 * every key under one `{prefix}` tag, one partition, a `data` longer than 64 bytes in its own key
 * (`x:<clientId>`). Layout 1 (the same keys, every `data` in its record; a Redis without the schema
 * key was written by a release before it, with layout 1) is the one it upgrades (`upgradesFrom`):
 * a record of layout 1 is a valid record of layout 2 (its `data` is in its hash, where layout 2
 * looks first), but a node of layout 1 would read a record of layout 2 without its long `data`.
 * So the join of a node of layout 2 to a Redis of layout 1 writes layout 2 only if no node of
 * layout 1 is live (alive or leaving, heartbeat within `nodeTtl`), ending as dead those whose
 * heartbeat is older (they are no longer serving; their clients get their grace period), and
 * is refused `KEY_LAYOUT_MISMATCH` while one is live: a rolling upgrade across key layouts needs
 * the nodes of the old release stopped first. A node of layout 1 joining a Redis of layout 2 is
 * refused by its own check.
 */
export const KEY_LAYOUT = { layout: 2, partitions: 1, upgradesFrom: 1 } as const;

/**
 * The partitioned key layout, 3 (option `partitions` above 1): the clients are spread over P
 * partitions, each under its own hash tag `{prefix:p<i>}` ({@link partitionTag}: so, on a Redis
 * Cluster, spread evenly over the shards),
 * and only node membership stays under `{prefix}`. Each partition holds the keys of
 * {@link KEY_TABLE} for its clients (records, data keys, tombstones, outboxes, emit ids, deadlines,
 * state and owned sets, the deletion journal and orphans, the recovery's unheld set) and copies of
 * what its scripts check about the nodes: `node:<id>` (`inc`, `state`, `wb`), `nodes` (the live
 * incarnations) and in `meta` the cluster's `epoch` and current `recovery`, written by the
 * `member` script when membership changes (a join, a death; a leave writes its own), never per
 * heartbeat. A partition's `meta` has its own write counter `writes` and ownership version `ver`.
 * Nothing is upgraded into or out of it: P is fixed once written (see docs/partitions.md).
 */
export const PARTITIONED_LAYOUT = 3;

/** The key layout a store of `partitions` partitions writes: 2 for one, else 3. */
export function keyLayout(partitions: number): { layout: number; partitions: number; upgradesFrom: number | null } {
  return partitions === 1 ? KEY_LAYOUT : { layout: PARTITIONED_LAYOUT, partitions, upgradesFrom: null };
}

/**
 * The partition of a client (0 … partitions - 1): a 32-bit FNV-1a of its id (ASCII: ids are
 * base64url), modulo P. Any node computes it from the id alone.
 */
export function partitionOf(clientId: string, partitions: number): number {
  return partitions === 1 ? 0 : fnv1a(clientId) % partitions;
}

/** The 32-bit FNV-1a of an ASCII string. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A 32-bit finaliser (each input bit moves every output bit): ids that differ in one character score apart. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest random weight) hashing: which of `nodes` sweeps and reaps partition p, the
 * one whose FNV-1a of `<node>:<p>`, finalised by {@link mix}, is the highest. A node joining or ending moves only its own share.
 */
export function rendezvous(nodes: readonly string[], partition: number): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const node of nodes) {
    const score = mix(fnv1a(`${node}:${partition}`));
    if (score > bestScore || (score === bestScore && best !== undefined && node < best)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}

/** The live states, each with its set (`state:<state>`). */
const LIVE_STATES = ['handshaking', 'connected', 'disconnected'] as const;

/** The keys and channels of one cluster (its `{prefix}` tag), as the store names them in commands. */
export interface ClusterKeys {
  /** `{prefix}`: the hash tag of every key. */
  readonly tag: string;
  /** A client's record (a hash). */
  client(clientId: string): string;
  /** A client's `data` when longer than 64 bytes (a string). */
  data(clientId: string): string;
  /** A deleted client's tombstone. */
  tombstone(clientId: string): string;
  /** A client's outbox (a sorted set). */
  outbox(clientId: string): string;
  /** A client's recent emit ids (a sorted set). */
  emitIds(clientId: string): string;
  /** A deletion's journal entry (a hash). */
  deletion(deletionId: string): string;
  /** The deletions assigned to an incarnation (a set). */
  deletions(nodeId: string, inc: string): string;
  /** The clients an incarnation owns (a set). */
  owned(nodeId: string, inc: string): string;
  /** A node's hash. */
  node(nodeId: string): string;
  /** The clients in a live state (a set). */
  state(state: string): string;
  /** The three state sets: handshaking, connected, disconnected. */
  readonly states: readonly string[];
  /** The deadlines of every handshaking and disconnected client (a sorted set). */
  readonly deadlines: string;
  /** The live nodes by last heartbeat (a sorted set). */
  readonly nodes: string;
  /** The cluster's epoch and tick (a hash). */
  readonly meta: string;
  /** The key layout Redis was written by (a hash). */
  readonly schema: string;
  /** Ended incarnations whose clients are still to be released (a set). */
  readonly reaping: string;
  /** Deletions whose incarnation ended before completing them (a set). */
  readonly orphans: string;
  /** During a recovery: the clients no live incarnation owns (a set). */
  readonly unheld: string;
  /** The pub/sub channel of a node's notices. */
  notices(nodeId: string): string;
  /** The pub/sub channel `connected()` waits on for a client another node holds. */
  watch(clientId: string): string;
}

/** Redis Cluster's CRC16 (XMODEM) of an ASCII string: a key's hash slot is this modulo 16384. */
function crc16(text: string): number {
  let crc = 0;
  for (let i = 0; i < text.length; i += 1) {
    crc ^= text.charCodeAt(i) << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster hash slot of a key (its `{tag}`'s when it has a non-empty one). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % 16384;
  }
  return crc16(key) % 16384;
}

/**
 * The hash tag of partition i of P (layout 3): `{prefix:p<i>}`, or `{prefix:p<i>.<n>}` with the
 * first n that puts it in the i-th of P equal ranges of Redis Cluster's 16,384 slots. So the
 * partitions are spread evenly over the masters of a cluster whose slots are split in equal
 * ranges (what `redis-cli --cluster create` does), instead of as their names happen to hash: with
 * P = 256 over 3 masters, 85 or 86 each rather than, say, 95/78/83. Expected tries: P.
 */
export function partitionTag(prefix: string, partition: number, partitions: number): string {
  const low = Math.floor((partition * 16384) / partitions);
  const high = Math.floor(((partition + 1) * 16384) / partitions);
  for (let n = 0; n < 1_000_000; n += 1) {
    const inner = n === 0 ? `${prefix}:p${partition}` : `${prefix}:p${partition}.${n}`;
    const slot = crc16(inner) % 16384;
    if (slot >= low && slot < high) return `{${inner}}`;
  }
  return `{${prefix}:p${partition}}`;
}

/**
 * The keys of a cluster under `prefix` (each one in {@link KEY_TABLE}): with `partition` (of
 * `partitions`), those of that partition of the partitioned layout (tag {@link partitionTag}),
 * else the global ones (`{prefix}`, which in layout 2 hold everything).
 */
export function clusterKeys(prefix: string, partition?: number, partitions?: number): ClusterKeys {
  if (partition !== undefined && partitions === undefined) throw new TypeError('clusterKeys: the partition count');
  const tag = partition === undefined ? `{${prefix}}` : partitionTag(prefix, partition, partitions as number);
  const state = (name: string) => `${tag}:state:${name}`;
  return {
    tag,
    client: (clientId) => `${tag}:c:${clientId}`,
    data: (clientId) => `${tag}:x:${clientId}`,
    tombstone: (clientId) => `${tag}:t:${clientId}`,
    outbox: (clientId) => `${tag}:o:${clientId}`,
    emitIds: (clientId) => `${tag}:e:${clientId}`,
    deletion: (deletionId) => `${tag}:d:${deletionId}`,
    deletions: (nodeId, inc) => `${tag}:dels:${nodeId}:${inc}`,
    owned: (nodeId, inc) => `${tag}:owned:${nodeId}:${inc}`,
    node: (nodeId) => `${tag}:node:${nodeId}`,
    state,
    states: LIVE_STATES.map(state),
    deadlines: `${tag}:deadlines`,
    nodes: `${tag}:nodes`,
    meta: `${tag}:meta`,
    schema: `${tag}:schema`,
    reaping: `${tag}:reaping`,
    orphans: `${tag}:orphans`,
    unheld: `${tag}:unheld`,
    notices: (nodeId) => `${tag}:notice:${nodeId}`,
    watch: (clientId) => `${tag}:watch:${clientId}`,
  };
}

/**
 * The `KEYS` of each script, in the order its header lists them (`lua/<script>.ts`): every key it
 * may touch but those it discovers. `node` and `inc` are the caller's incarnation.
 */
export function scriptKeys(k: ClusterKeys) {
  const clientKeys = (id: string) => [k.client(id), k.data(id), k.tombstone(id), k.outbox(id), k.emitIds(id)];
  return {
    join: (node: string) => [k.meta, k.schema, k.node(node), k.nodes, k.reaping, k.orphans],
    heartbeat: (node: string) => [k.nodes, k.meta, k.node(node), k.unheld],
    reap: (node: string, inc: string) => [
      k.nodes,
      k.meta,
      k.node(node),
      k.reaping,
      k.orphans,
      k.unheld,
      k.deletions(node, inc),
      k.deadlines,
      ...k.states,
    ],
    leave: (node: string, inc: string) => [
      k.nodes,
      k.node(node),
      k.owned(node, inc),
      k.deletions(node, inc),
      k.reaping,
      k.orphans,
      k.deadlines,
      k.state('connected'),
      k.state('disconnected'),
      k.meta,
    ],
    register: (id: string, node: string, inc: string) => [
      k.client(id),
      k.data(id),
      k.tombstone(id),
      k.deadlines,
      k.state('handshaking'),
      k.owned(node, inc),
      k.node(node),
      k.meta,
    ],
    claim: (id: string, node: string, inc: string) => [
      k.client(id),
      k.data(id),
      k.tombstone(id),
      k.node(node),
      k.owned(node, inc),
      k.deadlines,
      ...k.states,
      k.meta,
      k.nodes,
    ],
    disconnect: (id: string, node: string) => [
      k.client(id),
      k.data(id),
      k.tombstone(id),
      k.node(node),
      k.deadlines,
      k.state('connected'),
      k.state('disconnected'),
      k.meta,
    ],
    hookRan: (ids: readonly string[]) => ids.slice(0, 1).map(k.client),
    /** Also emit's (an overflow deletes). */
    delete: (id: string, deletionId: string, node: string, inc: string) => [
      ...clientKeys(id),
      k.deletion(deletionId),
      k.deadlines,
      ...k.states,
      k.deletions(node, inc),
      k.node(node),
      k.meta,
    ],
    completeDeletion: (deletionId: string, node: string, inc: string) => [
      k.deletion(deletionId),
      k.deletions(node, inc),
      k.meta,
    ],
    pendingDeletions: (node: string, inc: string) => [k.deletions(node, inc)],
    sweep: (node: string, inc: string) => [
      k.deadlines,
      k.meta,
      k.node(node),
      k.nodes,
      k.deletions(node, inc),
      k.unheld,
      ...k.states,
    ],
    restore: (id: string, node: string, inc: string) => [
      ...clientKeys(id),
      k.deadlines,
      ...k.states,
      k.owned(node, inc),
      k.node(node),
      k.meta,
    ],
    writeBack: (node: string, deletions: ReadonlyArray<{ clientId: string; deletionId: string }>) => [
      k.meta,
      k.node(node),
      k.orphans,
      k.deadlines,
      ...k.states,
      ...deletions.flatMap(({ clientId, deletionId }) => [...clientKeys(clientId), k.deletion(deletionId)]),
    ],
    partitions: () => [k.meta],
    member: (nodes: readonly string[]) => [k.meta, k.nodes, k.reaping, k.orphans, k.unheld, ...nodes.map(k.node)],
    get: (id: string) => [k.client(id), k.data(id)],
    list: (node: string) => [...k.states, ...(node === '' ? [] : [k.node(node)])],
    counts: () => [...k.states, k.nodes],
    nodes: () => [k.nodes],
    owned: (ids: readonly string[]) => ids.map(k.client),
    ack: (id: string) => [k.client(id), k.outbox(id), k.meta],
    outbox: (id: string) => [k.client(id), k.outbox(id)],
  };
}

/** Each script's `KEYS` builder (see {@link scriptKeys}). */
export type ScriptKeys = ReturnType<typeof scriptKeys>;
