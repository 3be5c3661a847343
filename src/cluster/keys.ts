/**
 * The key layout. Every key is under one hash tag, `{prefix}` (default `{sup}`), so all of
 * them live in one slot and one Lua script may touch any of them (Redis Cluster included).
 * `P` below is `{prefix}`.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P:c:<clientId>` | hash | the client record: `tokenHash` (SHA-256 hex), the snapshot fields (`state`, `socketId`, `tabId`, `createdAt`, `connectedAt`, `disconnectedAt`, `expiresAt`, `generation`), `data` (JSON), `node` + `inc` (owner incarnation, '' when unowned), `fence`, `lastSocketId` (the last socket that disconnected, to tell a replayed disconnect from a stale one) |
 * | `P:t:<clientId>` | string, PX tombstoneTtl | tombstone: `<deletionId> <reason>` |
 * | `P:deadlines` | sorted set | clientId → expiresAt (ms, Redis TIME), for handshaking and disconnected clients |
 * | `P:state:<state>` | set | clientIds per state (counts, list) |
 * | `P:owned:<node>:<inc>` | set | clientIds an incarnation owns |
 * | `P:node:<node>` | hash | `inc` (incarnation counter), `state` (alive, leaving, dead, left), `joinedAt`, `heartbeatAt` |
 * | `P:nodes` | sorted set | live nodes → last heartbeat (ms) |
 * | `P:reaping` | set | `<node>:<inc>` of ended incarnations whose clients are still to be released |
 * | `P:d:<deletionId>` | hash | deletion journal entry: clientId, reason, assigned `node` + `inc`, `fence`, `at`, `redelivered`, `attempts`, previous owner and fence, the client's snapshot and data |
 * | `P:dels:<node>:<inc>` | set | deletions assigned to an incarnation, not completed |
 * | `P:orphans` | set | deletions whose incarnation ended before completing them |
 * | `P:meta` | hash | `epoch` (changes only if Redis lost its data), `lastTick` (ms), `graceFrom` (set after an outage until overdue deadlines are pushed) |
 *
 * Notices go out on the pub/sub channel `P:notice:<node>`.
 */
export interface ClusterKeys {
  /** `{prefix}`: ARGV[1] of every script. */
  readonly tag: string;
  /** The key of a client's record (a hash). */
  client(clientId: string): string;
  /** The key of a deleted client's tombstone. */
  tombstone(clientId: string): string;
  readonly deadlines: string;
  readonly nodes: string;
  readonly meta: string;
  /** The pub/sub channel of a node's notices. */
  notices(nodeId: string): string;
}

/** The keys of a cluster under `keyPrefix` (every one under the hash tag `{prefix}`). */
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
  };
}
