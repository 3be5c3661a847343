import { SupervisorError } from '../../core/errors.js';
import { hashToken, isId, randomId } from '../../core/ids.js';
import { LIVE_STATES, SNAPSHOT_KEYS } from '../../machines/clientSnapshot.js';
import {
  authError,
  clusterClientOptions,
  closeClient,
  connectWithin,
  isAuthRefused,
  type NodeRedisClient,
} from './connection.js';
import { type ClusterKeys, clusterKeys, KEY_LAYOUT, type ScriptKeys, scriptKeys } from './keys.js';
import { CHECKED_SCRIPTS, KEY_CHECK_ENV, type BuiltScript, RECORD_FIELDS, SCRIPTS, type Scripts } from './lua/index.js';
import { asArray, asString, formatField, parseDeletion, parseOutbox, parseRecord } from './parse.js';
import type {
  ClusterClientRecord,
  ClusterCounts,
  ClusterListOptions,
  ClusterNode,
  Deletion,
  OutboxSummary,
  OwnedClient,
  RestoreInput,
} from './records.js';
import type {
  AckResult,
  ClaimRejectCode,
  ClaimResult,
  DeleteResult,
  DisconnectResult,
  EmitResult,
  HeartbeatResult,
  JoinResult,
  ListPage,
  ListViewsPage,
  OutboxRead,
  ReapResult,
  RegisterResult,
  RestoreOutcome,
  SweepResult,
} from './results.js';
import { parseDue } from './results.js';
import { ScriptRunner } from './scriptRunner.js';
import { type RedisClusterStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from './storeOptions.js';
import { type ClientAnnouncement, type ClusterNotice, decodeNotice, Subscriber } from './subscriber.js';
import { UnansweredClaims } from './unansweredClaims.js';

/** The most due marks one `hookRan` call clears. */
const RAN_BATCH = 500;

const STATES: readonly string[] = LIVE_STATES;
const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

/** A malformed argument, or a node-scoped call before `join()` (options are `TypeError`s, as on a single node). */
function invalid(message: string): SupervisorError {
  return new SupervisorError('INVALID_ARGUMENT', `socket.io-supervisor/cluster: ${message}`);
}

function checkId(name: string, value: unknown): string {
  if (!isId(value)) throw invalid(`\`${name}\` must be base64url, 1-64 chars`);
  return value;
}

function checkText(name: string, value: unknown): string {
  if (typeof value !== 'string' || !PRINTABLE.test(value))
    throw invalid(`\`${name}\` must be 1-64 printable characters`);
  return value;
}

/**
 * Cluster mode's Redis layer: one method per Lua script (each one atomic step, see
 * `lua/`), plus the reads and the node's pub/sub. It keeps no client state in memory besides this node's
 * incarnation; timers (heartbeat, sweep, reap) belong to the caller.
 *
 * Errors: `SupervisorError` `UNAVAILABLE` when Redis cannot be reached, does not answer within
 * `commandTimeout` (the command may still have run: every script is idempotent for that reason)
 * or refuses to run commands (loading its AOF, out of memory); `INVALID_ARGUMENT` for bad input
 * or a node-scoped call before `join()`. Outcomes (rejections, fencing, replays) are values.
 *
 * @example
 * ```ts
 * const store = await RedisClusterStore.connect({ redis: 'redis://127.0.0.1:6379', nodeId: 'web-1' });
 * await store.join();
 * const registered = await store.register({ data: { user: 1 } });
 * if (registered.outcome === 'registered') {
 *   const { clientId, token } = registered; // to the page
 *   const claim = await store.claim({ clientId, token, socketId: socket.id }); // its handshake
 * }
 * ```
 */
export class RedisClusterStore<TData = unknown> {
  readonly nodeId: string;
  readonly options: Readonly<ResolvedStoreOptions>;
  private readonly keys: ClusterKeys;
  private readonly scriptKeys: ScriptKeys;
  /** The scripts: as written, or their test build (see `KEY_CHECK_ENV`). */
  private readonly scripts: Scripts;
  private readonly runner: ScriptRunner;
  /** This process's id in Redis: tells its own incarnations (a rejoin) from another process's under the same node id. */
  private readonly processId = randomId();
  private inc: string | null = null;
  private joinedEpoch: string | null = null;
  /**
   * The write counter this incarnation's last acknowledged heartbeat answered ('' before the first):
   * the heartbeat, sweep and reap compare it with the one that heartbeat stored, to tell a Redis
   * that went back to older data (see the `stale` fragment).
   */
  private seenWrites = '';
  /**
   * The highest write counter a reply answered since this incarnation joined (0: none), and how
   * many joins this store made (a reply to a call sent before the last join is not counted).
   */
  private highestWrites = 0;
  private joins = 0;
  /**
   * A reply since the join carried a write counter not above one an earlier reply carried: every
   * script that writes raises the counter first, so Redis went back to older data. The next
   * heartbeat, sweep or reap then reports the rollback (their `highest` is sent as the largest
   * counter there can be), even when writes made since the rollback have raised the counter past
   * what this node saw before it (see {@link behind}).
   */
  private wentBack = false;
  /** What the last heartbeat that answered `reset` found (see {@link resetKind}). */
  private lastReset: 'lost' | 'rolled-back' | null = null;
  /** Sockets whose claim got no answer: released (disconnect without a fence) once Redis answers. */
  private readonly unanswered: UnansweredClaims;
  private readonly subscriber: Subscriber;

  private constructor(
    private readonly client: NodeRedisClient,
    private readonly ownsClient: boolean,
    options: ResolvedStoreOptions,
  ) {
    this.options = options;
    this.nodeId = options.nodeId;
    this.keys = clusterKeys(options.keyPrefix);
    this.scriptKeys = scriptKeys(this.keys);
    this.scripts = process.env[KEY_CHECK_ENV] === '1' ? CHECKED_SCRIPTS : SCRIPTS;
    this.runner = new ScriptRunner(client, options.commandTimeout);
    this.unanswered = new UnansweredClaims(
      (clientId, socketId) => this.disconnect({ clientId, socketId, fence: null }),
      options.logger,
    );
    this.subscriber = new Subscriber(client, options.commandTimeout, options.logger);
  }

  /**
   * Connects (a URL: with {@link clusterClientOptions}; a client: as it is) and loads the
   * scripts. Does not join: call {@link join} before any node-scoped method.
   */
  static async connect<TData = unknown>(options: RedisClusterStoreOptions): Promise<RedisClusterStore<TData>> {
    const resolved = resolveStoreOptions(options);
    const { redis } = options;
    let client: NodeRedisClient;
    if (typeof redis === 'string') {
      const { createClient } = await import('redis');
      client = createClient(clusterClientOptions(redis, resolved.commandTimeout)) as unknown as NodeRedisClient;
      client.on('error', (error) => resolved.logger.debug({ err: error }, 'socket.io-supervisor/cluster: Redis'));
      await connectWithin(client, resolved.commandTimeout);
    } else if (redis && typeof redis.sendCommand === 'function') {
      client = redis;
    } else {
      throw new TypeError(
        'socket.io-supervisor/cluster: option `redis` must be a URL or a connected node-redis client',
      );
    }
    const store = new RedisClusterStore<TData>(client, typeof redis === 'string', resolved);
    await store.runner.load(Object.values(store.scripts)).catch((error: unknown) => {
      // a client given connected, without the password Redis wants
      throw isAuthRefused(error) || isAuthRefused((error as { cause?: unknown }).cause) ? authError(error) : error;
    });
    return store;
  }

  /**
   * What the last heartbeat that answered `reset` found: Redis lost its data (`lost`) or went back
   * to older data (`rolled-back`, found by this node or another). `null` before any.
   */
  get resetKind(): 'lost' | 'rolled-back' | null {
    return this.lastReset;
  }

  /** Commands sent to Redis so far. A handshake (`claim`) costs one. */
  get roundTrips(): number {
    return this.runner.roundTrips;
  }

  /** This node's incarnation, once joined. */
  get incarnation(): number | null {
    return this.inc === null ? null : Number(this.inc);
  }

  /**
   * Whether a reply since this incarnation joined showed Redis gone back to older data (a write
   * counter not above one seen before), which no heartbeat has reported yet: a claim decided on
   * it must not be trusted.
   */
  get behind(): boolean {
    return this.wentBack;
  }

  /** Claims whose reply was lost and whose socket is still to be released. */
  get unansweredClaims(): number {
    return this.unanswered.size;
  }

  /**
   * Runs a script; one that writes answers `{writes, reply}`: the counter is remembered (the highest
   * since the join), the reply returned.
   */
  private async run(script: BuiltScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const joins = this.joins;
    const raw = await this.runner.run(script, keys, args);
    if (!script.writes) return raw;
    const [writes, reply] = asArray(raw, script.name);
    const counter = Number(writes);
    if (joins === this.joins) {
      if (counter > this.highestWrites) this.highestWrites = counter;
      else this.wentBack = true;
    }
    return reply;
  }

  /** The arguments every periodic script ends with: the epoch joined, `seen` and `highest` (see the `stale` fragment). */
  private staleArgs(): string[] {
    const highest = this.wentBack ? Number.MAX_SAFE_INTEGER : this.highestWrites;
    return [this.joinedEpoch ?? '', this.seenWrites, highest > 0 ? String(highest) : ''];
  }

  private self(): [string, string] {
    if (this.inc === null) throw invalid('join() first: this call needs the node incarnation');
    return [this.nodeId, this.inc];
  }

  /** Resolves once Redis answers a `PING` (within `commandTimeout`), rejects `UNAVAILABLE` otherwise. */
  async ping(): Promise<void> {
    await this.runner.command(['PING'], 'ping');
  }

  /** The error of a join refused because another live process has this node id. */
  private nodeIdInUse(inc: string, ageMs: string): SupervisorError {
    const { nodeTtl } = this.options;
    return new SupervisorError(
      'NODE_ID_IN_USE',
      `socket.io-supervisor/cluster: nodeId "${this.nodeId}" is in use by another live process (incarnation ${inc}, heartbeat ${ageMs} ms ago). ` +
        'Each process of a cluster needs a unique nodeId, e.g. the host name and the worker id (HOSTNAME + cluster.worker.id) when a container runs several workers; ' +
        `a process killed without closing may restart under its id once its heartbeat is older than nodeTtl (${nodeTtl} ms).`,
    );
  }

  /** The error of a join refused because Redis holds keys of another layout (its schema). */
  private layoutMismatch(layout: string, partitions: string): SupervisorError {
    const { keyPrefix } = this.options;
    return new SupervisorError(
      'KEY_LAYOUT_MISMATCH',
      `socket.io-supervisor/cluster: Redis holds keys of key layout ${layout} with ${partitions || '?'} partition(s) under keyPrefix "${keyPrefix}" (${this.keys.schema}); this release uses layout ${KEY_LAYOUT.layout} with ${KEY_LAYOUT.partitions}. ` +
        'Nodes of different layouts cannot share a Redis: run this one under another keyPrefix, or stop every node and migrate the keys (see docs/partitions.md, "Migration").',
    );
  }

  /**
   * The error of a join that would upgrade the key layout (`KEY_LAYOUT.upgradesFrom`) while a node
   * of the old layout is live.
   */
  private layoutLive(layout: string, nodeId: string, ageMs: string): SupervisorError {
    const { keyPrefix, nodeTtl } = this.options;
    return new SupervisorError(
      'KEY_LAYOUT_MISMATCH',
      `socket.io-supervisor/cluster: Redis holds keys of key layout ${layout} under keyPrefix "${keyPrefix}" (${this.keys.schema}), and node "${nodeId}" of that layout is live (heartbeat ${ageMs} ms ago); this release uses layout ${KEY_LAYOUT.layout}, and upgrades a Redis of layout ${KEY_LAYOUT.upgradesFrom} only when none of its nodes is live. ` +
        `A rolling upgrade across key layouts needs the old nodes stopped first: close every node of the previous release (or wait until its heartbeat is older than nodeTtl, ${nodeTtl} ms), then start this one (docs/cluster-redis.md, "Compact records (key layout 2)").`,
    );
  }

  // ---- nodes ------------------------------------------------------------------------------

  /**
   * Starts a new incarnation of this node (first start, after being fenced, or after a reset).
   * Rejects with `NODE_ID_IN_USE` when another process's incarnation under this node id is alive
   * (it heartbeated within `nodeTtl`): it is never ended; with `KEY_LAYOUT_MISMATCH` when Redis
   * holds keys of another key layout or partition count (`{prefix}:schema`; the first join writes
   * it, and a Redis without it was written by an earlier release, of layout 1), or of the layout
   * this release upgrades (`KEY_LAYOUT.upgradesFrom`) while a node of it is live: a join upgrades
   * such a Redis only when none is (see {@link KEY_LAYOUT}).
   */
  async join(): Promise<JoinResult> {
    const { nodeTtl, outageGap } = this.options;
    // the layout first, with a plain read: a Redis of another layout gets no write at all
    const schema = asArray(
      await this.runner.command(['HMGET', this.keys.schema, 'layout', 'partitions'], 'join'),
      'join',
    );
    const [layout = '', partitions = ''] = schema.map(asString);
    const known = [String(KEY_LAYOUT.layout), String(KEY_LAYOUT.upgradesFrom)];
    if (layout !== '' && (!known.includes(layout) || partitions !== String(KEY_LAYOUT.partitions))) {
      throw this.layoutMismatch(layout, partitions);
    }
    const args = [
      this.nodeId,
      String(outageGap),
      String(nodeTtl),
      this.processId,
      String(KEY_LAYOUT.layout),
      String(KEY_LAYOUT.partitions),
      String(KEY_LAYOUT.upgradesFrom),
    ];
    const reply = asArray(await this.run(this.scripts.join, this.scriptKeys.join(this.nodeId), args), 'join');
    if (asString(reply[0]) === 'NODE_ID_IN_USE') throw this.nodeIdInUse(asString(reply[1]), asString(reply[2]));
    if (asString(reply[0]) === 'LAYOUT_MISMATCH') throw this.layoutMismatch(asString(reply[1]), asString(reply[2]));
    if (asString(reply[0]) === 'LAYOUT_LIVE') {
      throw this.layoutLive(asString(reply[1]), asString(reply[2]), asString(reply[3]));
    }
    const [inc, epoch, at, ended] = reply.map(asString) as [string, string, string, string];
    this.inc = inc;
    this.joinedEpoch = epoch;
    this.seenWrites = '';
    this.joins += 1;
    this.highestWrites = 0;
    this.wentBack = false;
    return { incarnation: Number(inc), epoch, at: Number(at), endedIncarnation: ended === '' ? null : Number(ended) };
  }

  /**
   * Keeps this incarnation alive; then releases the sockets of claims that got no answer. `reset`:
   * Redis lost its data, or went back to older data (`rolledBack`, found by the write counter).
   */
  async heartbeat(): Promise<HeartbeatResult> {
    const [node, inc] = this.self();
    const args = [node, inc, String(this.options.outageGap), ...this.staleArgs()];
    const reply = asArray(
      await this.run(this.scripts.heartbeat, this.scriptKeys.heartbeat(node), args),
      'heartbeat',
    ).map(asString);
    if (reply[0] === 'RESET' || reply[0] === 'ROLLBACK') {
      const rolledBack = reply[0] === 'ROLLBACK' || reply[2] === '1';
      this.lastReset = rolledBack ? 'rolled-back' : 'lost';
      return rolledBack ? { outcome: 'reset', rolledBack } : { outcome: 'reset' };
    }
    if (reply[0] === 'NODE_FENCED') return { outcome: 'node-fenced' };
    this.seenWrites = reply[3] ?? '';
    if (this.unanswered.size > 0) await this.unanswered.releaseAll();
    return { outcome: 'ok', at: Number(reply[1]), outage: reply[2] === '1', ownershipVersion: Number(reply[4] ?? 0) };
  }

  /**
   * Declares dead the nodes whose heartbeat is older than `nodeTtl`, releases their clients
   * (one batch) and takes over orphaned deletions (run their onDelete again: `redelivered`).
   */
  async reap(): Promise<ReapResult<TData>> {
    const [node, inc] = this.self();
    const { nodeTtl, reconnectTimeout, outageGap, batchSize } = this.options;
    const args = [node, inc, String(nodeTtl), String(reconnectTimeout), String(outageGap), String(batchSize)];
    args.push(...this.staleArgs());
    const reply = asArray(await this.run(this.scripts.reap, this.scriptKeys.reap(node, inc), args), 'reap');
    if (asString(reply[0]) === 'NODE_FENCED') return { outcome: 'node-fenced' };
    return {
      outcome: 'reaped',
      declaredDead: asArray(reply[1], 'reap').map(asString),
      released: Number(asString(reply[2])),
      more: asString(reply[3]) === '1',
      redelivered: asArray(reply[4], 'reap').map((entry) => parseDeletion<TData>(entry)),
      dropped: Number(asString(reply[5]) || 0),
    };
  }

  /**
   * A rolling-deploy leave: every client this incarnation owns becomes unowned (a connected one
   * disconnected, with `reconnectTimeout` of grace), nothing is deleted; then the incarnation is
   * `left`. Runs batches until done. Complete running deletions first: any left unfinished are
   * redelivered to another node.
   */
  async leave(): Promise<{ outcome: 'left'; released: number } | { outcome: 'node-fenced' }> {
    const [node, inc] = this.self();
    const args = [node, inc, String(this.options.reconnectTimeout), String(this.options.batchSize)];
    let released = 0;
    for (;;) {
      const reply = asArray(await this.run(this.scripts.leave, this.scriptKeys.leave(node, inc), args), 'leave').map(
        asString,
      );
      if (reply[0] === 'NODE_FENCED') return { outcome: 'node-fenced' };
      released += Number(reply[1]);
      if (reply[0] === 'left') return { outcome: 'left', released };
    }
  }

  // ---- clients ----------------------------------------------------------------------------

  /**
   * Registers a handshaking client owned by this node. Ids and token are generated unless given
   * (a replay of a register whose reply was lost passes the same ones). `data` must be JSON.
   */
  async register(
    input: { clientId?: string; token?: string; tabId?: string | null; data?: TData } = {},
  ): Promise<RegisterResult<TData>> {
    const [node, inc] = this.self();
    const clientId = input.clientId === undefined ? randomId() : checkId('clientId', input.clientId);
    const token = input.token === undefined ? randomId() : checkId('token', input.token);
    const tabId = input.tabId == null ? '' : checkText('tabId', input.tabId);
    const data = JSON.stringify(input.data ?? null);
    if (data === undefined) throw invalid('`data` must be JSON');
    const args = [clientId, hashToken(token), tabId, data, node, inc, String(this.options.handshakeTimeout)];
    const reply = asArray(
      await this.run(this.scripts.register, this.scriptKeys.register(clientId, node, inc), args),
      'register',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: 'node-fenced' };
    if (outcome === 'ID_TAKEN') return { outcome: 'id-taken' };
    return {
      outcome: outcome as 'registered' | 'replay',
      clientId,
      token,
      client: parseRecord<TData>(clientId, reply[1]),
    };
  }

  /**
   * The handshake, in one round-trip: authenticates the token and applies the handshake column
   * of the lifecycle table on this node (see `lua/claim.ts`). When Redis does not answer, the
   * claim may still have run: the socket is remembered and released (disconnected without a
   * fence) once Redis answers again, so a socket the node refused never stays connected in Redis.
   */
  async claim(input: {
    clientId: string;
    token: string;
    socketId: string;
    tabId?: string | null;
  }): Promise<ClaimResult<TData>> {
    const [node, inc] = this.self();
    const clientId = checkId('clientId', input.clientId);
    const token = checkId('token', input.token);
    const socketId = checkText('socketId', input.socketId);
    const tabId = input.tabId == null ? '' : checkText('tabId', input.tabId);
    let reply: unknown[];
    try {
      const args = [clientId, hashToken(token), socketId, tabId, node, inc];
      reply = asArray(await this.run(this.scripts.claim, this.scriptKeys.claim(clientId, node, inc), args), 'claim');
    } catch (error) {
      if (error instanceof SupervisorError && error.code === 'UNAVAILABLE') {
        this.unanswered.remember(clientId, socketId);
      }
      throw error;
    }
    // answered: whatever an earlier, unanswered claim of this socket did is now known
    this.unanswered.answered(clientId, socketId);
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: 'node-fenced' };
    if (outcome === 'RECOVERING') return { outcome: 'recovering' };
    if (outcome === 'UNKNOWN_CLIENT' || outcome === 'BAD_TOKEN') {
      return { outcome: 'rejected', code: outcome as ClaimRejectCode };
    }
    if (outcome === 'CLIENT_DELETED')
      return { outcome: 'rejected', code: 'CLIENT_DELETED', reason: asString(reply[1]) };
    const previous = parseRecord<TData>(clientId, reply[1]);
    const client = parseRecord<TData>(clientId, reply[2]);
    const [seq, acked] = asArray(reply[3] ?? [], 'claim').map((value) => Number(asString(value) || 0));
    return {
      outcome: outcome as 'connected' | 'reconnected' | 'swapped' | 'replay',
      client,
      previous,
      ownerChanged: previous.node !== client.node || previous.incarnation !== client.incarnation,
      outbox: { seq: seq ?? 0, acked: acked ?? 0 },
      due: parseDue(asString(reply[4] ?? '')),
    };
  }

  /** Due marks to clear (`connectHookRan`), sent together on the next tick. */
  private readonly ranConnects = new Map<string, [string, string]>();
  private ranScheduled = false;

  /**
   * The owner ran `onConnect` for the connect of `socketId`: clears the client's due mark (see
   * `lua/hookRan.ts`). Fire and forget, batched: the marks of one tick go in one round-trip. A mark
   * left behind (Redis unreachable) matters only if its owner dies while the client is still
   * connected on it: the client's next owner runs that `onConnect` again.
   */
  connectHookRan(clientId: string, socketId: string): void {
    this.ranConnects.set(`${checkId('clientId', clientId)} ${checkText('socketId', socketId)}`, [clientId, socketId]);
    if (this.ranScheduled) return;
    this.ranScheduled = true;
    setImmediate(() => {
      this.ranScheduled = false;
      const batch = [...this.ranConnects.values()];
      this.ranConnects.clear();
      for (let i = 0; i < batch.length; i += RAN_BATCH) {
        const pairs = batch.slice(i, i + RAN_BATCH);
        const keys = this.scriptKeys.hookRan(pairs.map(([clientId]) => clientId));
        this.run(this.scripts.hookRan, keys, pairs.flat()).catch((error: unknown) =>
          this.options.logger.debug({ err: error }, 'socket.io-supervisor/cluster: could not clear due hooks'),
        );
      }
    });
  }

  /**
   * The current socket's disconnect, by its owner at its fence: the client becomes disconnected
   * with a deadline of `reconnectTimeout`. Safe to repeat (`replay`). `fence: null` releases a
   * socket whose claim had no answer (only if it is still the current socket here).
   */
  async disconnect(input: {
    clientId: string;
    socketId: string;
    fence: number | null;
  }): Promise<DisconnectResult<TData>> {
    const [node, inc] = this.self();
    const clientId = checkId('clientId', input.clientId);
    const socketId = checkText('socketId', input.socketId);
    const fence = input.fence === null ? '' : String(input.fence);
    const args = [clientId, socketId, node, inc, fence, String(this.options.reconnectTimeout)];
    const reply = asArray(
      await this.run(this.scripts.disconnect, this.scriptKeys.disconnect(clientId, node), args),
      'disconnect',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: 'node-fenced' };
    if (outcome === 'already-deleted' || outcome === 'unknown-client') return { outcome };
    const before = parseRecord<TData>(clientId, reply[1]);
    if (outcome === 'disconnected') {
      return { outcome, previous: before, client: parseRecord<TData>(clientId, reply[2]) };
    }
    return { outcome: outcome as 'replay' | 'not-connected' | 'stale-socket' | 'fenced', client: before };
  }

  /**
   * Deletes a client from any node: `deleted` exactly once cluster-wide, and this node runs its
   * onDelete, then {@link completeDeletion}. Pass the same `deletionId` to repeat a call whose
   * reply was lost (`replay`).
   */
  async delete(input: { clientId: string; reason: string; deletionId?: string }): Promise<DeleteResult<TData>> {
    const [node, inc] = this.self();
    const clientId = checkId('clientId', input.clientId);
    const reason = checkText('reason', input.reason);
    const deletionId = input.deletionId === undefined ? randomId() : checkId('deletionId', input.deletionId);
    const args = [clientId, deletionId, reason, node, inc, String(this.options.tombstoneTtl)];
    const reply = asArray(
      await this.run(this.scripts.delete, this.scriptKeys.delete(clientId, deletionId, node, inc), args),
      'delete',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: 'node-fenced' };
    if (outcome === 'deleted') return { outcome, deletion: parseDeletion<TData>(reply[1]) };
    if (outcome === 'replay') {
      return reply[1] === undefined ? { outcome } : { outcome, deletion: parseDeletion<TData>(reply[1]) };
    }
    return { outcome: outcome as 'already-deleted' | 'unknown-client' };
  }

  /** Marks a deletion's onDelete as done. `fenced`: it was redelivered to another node meanwhile. */
  async completeDeletion(deletionId: string): Promise<'completed' | 'gone' | 'fenced'> {
    const [node, inc] = this.self();
    const id = checkId('deletionId', deletionId);
    const reply = await this.run(this.scripts.completeDeletion, this.scriptKeys.completeDeletion(id, node, inc), [
      id,
      node,
      inc,
    ]);
    return asString(reply) as 'completed' | 'gone' | 'fenced';
  }

  /** Deletions assigned to this incarnation and not completed (to reconcile after lost replies). */
  async pendingDeletions(): Promise<Array<Deletion<TData>>> {
    const [node, inc] = this.self();
    const reply = asArray(
      await this.run(this.scripts.pendingDeletions, this.scriptKeys.pendingDeletions(node, inc), [node, inc]),
      'pendingDeletions',
    );
    return reply.map((entry) => parseDeletion<TData>(entry));
  }

  /**
   * One batch of the deadline sweep: deletes due clients (`handshake-timeout`,
   * `reconnect-timeout`), each by exactly one node cluster-wide; after an outage, first gives the
   * overdue deadlines a fresh grace period.
   */
  async sweep(): Promise<SweepResult<TData>> {
    const [node, inc] = this.self();
    const { batchSize, handshakeTimeout, reconnectTimeout, outageGap, tombstoneTtl } = this.options;
    const args = [node, inc, batchSize, handshakeTimeout, reconnectTimeout, outageGap, tombstoneTtl].map(String);
    const stale = this.staleArgs();
    const reply = asArray(
      await this.run(this.scripts.sweep, this.scriptKeys.sweep(node, inc), [...args, randomId(), ...stale]),
      'sweep',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: 'node-fenced' };
    const more = asString(reply[2]) === '1';
    if (outcome === 'grace') return { outcome, pushed: Number(asString(reply[1])), more };
    return { outcome: 'swept', deletions: asArray(reply[3], 'sweep').map((e) => parseDeletion<TData>(e)), more };
  }

  /**
   * After Redis lost its data (`heartbeat()` answered `reset`, then `join()`): rewrites the
   * clients this node holds, owned by its new incarnation, at the fences it knows.
   */
  async restore(records: ReadonlyArray<RestoreInput<TData>>): Promise<RestoreOutcome[]> {
    const [node, inc] = this.self();
    return Promise.all(
      records.map(async (record) => {
        const clientId = checkId('clientId', record.clientId);
        if (!STATES.includes(record.state)) throw invalid(`restore: unknown state for ${clientId}`);
        if (!Number.isSafeInteger(record.fence) || !/^[0-9a-f]{64}$/.test(record.tokenHash)) {
          throw invalid(`restore: ${clientId} needs an integer fence and the token's SHA-256 hex (hashToken)`);
        }
        const values = [
          ...SNAPSHOT_KEYS.map((key) => formatField(record[key])),
          JSON.stringify(record.data ?? null),
          String(record.fence),
          String(record.seq ?? 0),
        ];
        const args = [node, inc, clientId, record.tokenHash, ...values];
        const reply = asString(
          await this.run(this.scripts.restore, this.scriptKeys.restore(clientId, node, inc), args),
        );
        return reply === 'NODE_FENCED' ? 'node-fenced' : (reply as RestoreOutcome);
      }),
    );
  }

  /**
   * After {@link restore}: writes back the deletions this node ran within `tombstoneTtl` (each with
   * the ms its tombstone has left), so a deleted client stays deleted in a Redis that lost or
   * rolled back its data: tombstone, record removed without a hook, journal entry removed (never
   * redelivered). `done` marks this incarnation written back, which a recovery after a rollback
   * waits for on every live node before it drops what nobody holds. Returns the records removed.
   */
  async writeBack(
    deletions: ReadonlyArray<{ clientId: string; deletionId: string; reason: string; ttl: number }>,
    done: boolean,
  ): Promise<number | 'node-fenced'> {
    const [node, inc] = this.self();
    const args = [node, inc, done ? '1' : '0'];
    for (const deletion of deletions) {
      if (!Number.isSafeInteger(deletion.ttl) || deletion.ttl < 1) throw invalid('writeBack: `ttl` must be ≥ 1 ms');
      const { clientId, deletionId, reason } = deletion;
      args.push(checkId('clientId', clientId), checkId('deletionId', deletionId), checkText('reason', reason));
      args.push(String(deletion.ttl));
    }
    const reply = asArray(
      await this.run(this.scripts.writeBack, this.scriptKeys.writeBack(node, deletions), args),
      'writeBack',
    ).map(asString);
    return reply[0] === 'NODE_FENCED' ? 'node-fenced' : Number(reply[1]);
  }

  /** Which of these clients this incarnation still owns (a fenced one: none). */
  async owned(clientIds: readonly string[]): Promise<OwnedClient[]> {
    return (await this.ownedWithSeq(clientIds)).map(({ seq: _seq, ...owned }) => owned);
  }

  /** {@link owned}, with the last sequence number of each one's outbox (what its owner should have sent). */
  async ownedWithSeq(clientIds: readonly string[]): Promise<Array<OwnedClient & { seq: number }>> {
    const [node, inc] = this.self();
    const ids = clientIds.map((id) => checkId('clientId', id));
    if (ids.length === 0) return [];
    const reply = asArray(await this.run(this.scripts.owned, this.scriptKeys.owned(ids), [node, inc, ...ids]), 'owned');
    return reply.map((row) => {
      const [clientId, fence, state, socketId, seq] = asArray(row, 'owned').map(asString) as [
        string,
        string,
        string,
        string,
        string,
      ];
      return {
        clientId,
        fence: Number(fence),
        state: state as OwnedClient['state'],
        socketId: socketId || null,
        seq: Number(seq || 0),
      };
    });
  }

  // ---- delivery -----------------------------------------------------------------------------

  /**
   * Queues a message for a client, from any node (see `lua/emit.ts`): its sequence number, the
   * bounds (past them the client is deleted `outbox-overflow`, the deletion assigned to this
   * node), and who sends it. `payload` is `[event, ...args]` as JSON. Pass the same `emitId` to
   * repeat a call whose reply was lost: it is queued once (`replay`).
   */
  async emit(input: {
    clientId: string;
    emitId: string;
    payload: string;
    maxMessages: number;
    maxBytes: number;
  }): Promise<EmitResult<TData>> {
    const [node, inc] = this.self();
    const clientId = checkId('clientId', input.clientId);
    const emitId = checkId('emitId', input.emitId);
    const deletionId = randomId();
    const args = [
      clientId,
      emitId,
      input.payload,
      String(input.maxMessages),
      String(input.maxBytes),
      node,
      inc,
      deletionId,
      String(this.options.tombstoneTtl),
      String(this.replayWindow),
    ];
    const keys = this.scriptKeys.delete(clientId, deletionId, node, inc);
    const reply = asArray(await this.run(this.scripts.emit, keys, args), 'emit');
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: 'node-fenced' };
    if (outcome === 'overflow') return { outcome, deletion: parseDeletion<TData>(reply[1]) };
    if (outcome === 'queued' || outcome === 'replay') {
      const seq = asString(reply[1]);
      const member = asString(reply[2]);
      const socketId = asString(reply[3]);
      return {
        outcome,
        seq: seq === '' ? null : Number(seq),
        deliver: member !== '' && socketId !== '' ? { socketId, member } : null,
      };
    }
    return { outcome: outcome as 'already-deleted' | 'unknown-client' };
  }

  /**
   * How long the ids of queued messages are kept to recognise a repeated emit: longer than any
   * retry of one (a few command timeouts), counted on Redis's clock from when the first attempt ran.
   */
  get replayWindow(): number {
    return Math.max(30_000, 15 * this.options.commandTimeout);
  }

  /** The page processed every message up to `upTo`: they leave the outbox. From any node; safe to repeat. */
  async ack(clientId: string, upTo: number): Promise<AckResult> {
    const id = checkId('clientId', clientId);
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw invalid('`upTo` must be an integer ≥ 0');
    const reply = asArray(await this.run(this.scripts.ack, this.scriptKeys.ack(id), [id, String(upTo)]), 'ack').map(
      asString,
    );
    const outcome = reply[0];
    if (outcome === 'acked') {
      return {
        outcome,
        trimmed: Number(reply[1]),
        acked: Number(reply[2]),
        oldestAt: reply[3] ? Number(reply[3]) : null,
        bytes: Number(reply[4] ?? 0),
      };
    }
    if (outcome === 'stale') return { outcome, acked: Number(reply[1]) };
    if (outcome === 'ignored') return { outcome, seq: Number(reply[1]) };
    return { outcome: 'gone' };
  }

  /** Every unacknowledged message of a client numbered above `after`, in order (members as queued). */
  async readOutbox(clientId: string, after = 0): Promise<OutboxRead> {
    const id = checkId('clientId', clientId);
    const reply = asArray(
      await this.run(this.scripts.outbox, this.scriptKeys.outbox(id), [id, String(after)]),
      'outbox',
    );
    if (asString(reply[0]) !== 'ok') return { outcome: 'gone' };
    return {
      outcome: 'ok',
      acked: Number(asString(reply[1])),
      seq: Number(asString(reply[2])),
      members: asArray(reply[3], 'outbox').map(asString),
    };
  }

  // ---- reads --------------------------------------------------------------------------------

  /** A client's record from any node, or `undefined` (never the token or its hash). */
  async get(clientId: string): Promise<ClusterClientRecord<TData> | undefined> {
    return (await this.view(clientId))?.client;
  }

  /**
   * {@link get}, with the client's outbox (depth and when its oldest message was queued), in one
   * command (the `get` script: the record and, when kept apart, its data, read together).
   */
  async view(clientId: string): Promise<{ client: ClusterClientRecord<TData>; outbox: OutboxSummary } | undefined> {
    const id = checkId('clientId', clientId);
    const reply = asArray(await this.run(this.scripts.get, this.scriptKeys.get(id), []), 'get');
    if (reply.length === 0) return undefined;
    return {
      client: parseRecord<TData>(id, reply),
      outbox: parseOutbox(reply.slice(RECORD_FIELDS.length)),
    };
  }

  /** Whether a tombstone says this client was deleted (less than `tombstoneTtl` ago). */
  async isDeleted(clientId: string): Promise<boolean> {
    const reply = await this.runner.command(
      ['EXISTS', this.keys.tombstone(checkId('clientId', clientId))],
      'isDeleted',
    );
    return Number(reply) === 1;
  }

  /** One page of clients, cluster-wide, filtered by state and/or owning node. */
  async list(filter: ClusterListOptions = {}): Promise<ListPage<TData>> {
    const page = await this.listViews(filter);
    return { clients: page.clients.map((view) => view.client), cursor: page.cursor };
  }

  /** {@link list}, with each client's outbox. */
  async listViews(filter: ClusterListOptions = {}): Promise<ListViewsPage<TData>> {
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1) throw invalid('`limit` must be a positive integer');
    const state = filter.state ?? '';
    if (state !== '' && !STATES.includes(state)) throw invalid('unknown `state`');
    const args = [state, filter.node ?? '', filter.cursor ?? '', String(limit)];
    const reply = asArray(await this.run(this.scripts.list, this.scriptKeys.list(filter.node ?? ''), args), 'list');
    const clients = asArray(reply[1], 'list').map((row) => {
      const [clientId, ...snapshot] = asArray(row, 'list');
      return {
        client: parseRecord<TData>(asString(clientId), snapshot),
        outbox: parseOutbox(snapshot.slice(RECORD_FIELDS.length)),
      };
    });
    const cursor = asString(reply[0]);
    return { clients, cursor: cursor === '' ? null : cursor };
  }

  /** Cluster-wide counts by state, and the number of live nodes. */
  async counts(): Promise<ClusterCounts> {
    const reply = asArray(await this.run(this.scripts.counts, this.scriptKeys.counts(), []), 'counts').map((v) =>
      Number(asString(v)),
    );
    const [handshaking = 0, connected = 0, disconnected = 0, nodes = 0] = reply;
    return { handshaking, connected, disconnected, total: handshaking + connected + disconnected, nodes };
  }

  /** The live node incarnations, with their heartbeat and client count. */
  async nodes(): Promise<ClusterNode[]> {
    const reply = asArray(await this.run(this.scripts.nodes, this.scriptKeys.nodes(), []), 'nodes');
    return reply.map((row) => {
      const [node, inc, state, heartbeatAt, joinedAt, clients] = asArray(row, 'nodes').map(asString);
      return {
        node: node ?? '',
        incarnation: Number(inc),
        state: state as ClusterNode['state'],
        heartbeatAt: Number(heartbeatAt),
        joinedAt: Number(joinedAt),
        clients: Number(clients),
      };
    });
  }

  /**
   * Listens for notices to this node (a client it owned was taken over or deleted elsewhere, a
   * message queued elsewhere for a client it owns), on the store's pub/sub connection. Listening
   * once this resolves; returns the function that stops listening.
   */
  subscribe(listener: (notice: ClusterNotice) => void): Promise<() => Promise<void>> {
    return this.subscriber.listen(this.keys.notices(this.nodeId), (message) => listener(decodeNotice(message)));
  }

  /**
   * Listens for a client's announcements from any node: `connected` (a claim connected it) and
   * `deleted`. Listening once this resolves; returns the function that stops listening.
   */
  watch(clientId: string, listener: (announcement: ClientAnnouncement) => void): Promise<() => Promise<void>> {
    const channel = this.keys.watch(checkId('clientId', clientId));
    return this.subscriber.listen(channel, (message) => listener(message as ClientAnnouncement));
  }

  /** Closes the connections this store opened (an application's own client stays open). */
  async close(): Promise<void> {
    await this.subscriber.close();
    if (this.ownsClient) await closeClient(this.client);
  }

  /**
   * Releases now the sockets of this client's claims that got no answer (before a new claim of it
   * from this node: otherwise the claim could find the client connected to a socket this node
   * refused, and treat the new socket as a swap). One round-trip each; none when there is none.
   */
  releaseUnansweredOf(clientId: string): Promise<void> {
    return this.unanswered.releaseOf(clientId);
  }
}
