/**
 * The key layout: every key and pub/sub channel of a cluster, the one table (docs/cluster-redis.md
 * points here; `test/cluster/keys.test.ts` checks that the scripts build no key it lacks). Every
 * key is under one hash tag, `{prefix}` (default `{sup}`), so all of them live in one slot and one
 * Lua script may touch any of them (Redis Cluster included). A pattern is written without the
 * `{prefix}:` every key starts with; scripts build keys with `k('c', clientId)` and the store with
 * {@link clusterKeys}.
 */
export const KEY_TABLE = {
  client: {
    pattern: 'c:<clientId>',
    type: 'hash',
    holds:
      'the client record: `tokenHash` (SHA-256 hex of the token; the token itself never reaches Redis), the snapshot (`SNAPSHOT_KEYS`: `state`, `socketId`, `tabId`, `createdAt`, `connectedAt`, `disconnectedAt`, `expiresAt`, `generation`), `data` (JSON), owner `node` + `inc` (incarnation; empty while unowned), `fence`, `lastSocketId` (the last socket that disconnected: a replayed disconnect is told from a stale one); the outbox counters `seq` (last sequence number handed out), `acked` (highest acknowledged), `obytes` (size of the members kept), `oldestAt` (when the oldest unacknowledged one was queued)',
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
  meta: {
    pattern: 'meta',
    type: 'hash',
    holds:
      '`epoch` (changes only when Redis lost its data or went back to older data), `writes` (the write counter: every script that writes adds one), `lastTick` (ms), `graceFrom` (set after an outage until overdue deadlines are pushed); during a recovery after a rollback `recovery` (its id), `recoveryAt` (ms), `recoveryPhase` (`reaping` once every live node wrote back)',
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

/** The keys and channels of one cluster (its `{prefix}` tag), as the store names them in commands. */
export interface ClusterKeys {
  /** `{prefix}`: ARGV[1] of every script, from which the script builds its keys. */
  readonly tag: string;
  /** A client's record (a hash). */
  client(clientId: string): string;
  /** A deleted client's tombstone. */
  tombstone(clientId: string): string;
  /** The deadlines of every handshaking and disconnected client (a sorted set). */
  readonly deadlines: string;
  /** The live nodes by last heartbeat (a sorted set). */
  readonly nodes: string;
  /** The cluster's epoch and tick (a hash). */
  readonly meta: string;
  /** The pub/sub channel of a node's notices. */
  notices(nodeId: string): string;
  /** The pub/sub channel `connected()` waits on for a client another node holds. */
  watch(clientId: string): string;
}

/** The keys of a cluster under `prefix` (each one in {@link KEY_TABLE}). */
export function clusterKeys(prefix: string): ClusterKeys {
  const tag = `{${prefix}}`;
  return {
    tag,
    client: (clientId) => `${tag}:c:${clientId}`,
    tombstone: (clientId) => `${tag}:t:${clientId}`,
    deadlines: `${tag}:deadlines`,
    nodes: `${tag}:nodes`,
    meta: `${tag}:meta`,
    notices: (nodeId) => `${tag}:notice:${nodeId}`,
    watch: (clientId) => `${tag}:watch:${clientId}`,
  };
}
