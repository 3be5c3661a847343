import { SupervisorError } from '../../core/errors.js';
import { hashToken, isId, randomId } from '../../core/ids.js';
import { LIVE_STATES, SNAPSHOT_KEYS } from '../../machines/clientSnapshot.js';
import {
  authError,
  clusterClientOptions,
  closeClient,
  connectWithin,
  serverOfSlot,
  isAuthRefused,
  type NodeRedisClient,
} from './connection.js';
import {
  type ClusterKeys,
  clusterKeys,
  KEY_LAYOUT,
  keyLayout,
  keySlot,
  partitionOf,
  rendezvous,
  type ScriptKeys,
  scriptKeys,
} from './keys.js';
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
/**
 * With partitions, how long a cleared `onConnect` mark waits for others bound for the same master
 * (one `hookRan` call each): a mark left behind only matters if its owner dies before it is sent.
 */
const RAN_WINDOW_MS = 10;

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

/**
 * The keys of one partition (`index` ≥ 0) of the partitioned layout, or of the membership
 * (`index` -1, under `{prefix}`), which with one partition holds every key.
 */
interface Part {
  readonly index: number;
  readonly keys: ClusterKeys;
  readonly script: ScriptKeys;
}

/** `items` grouped by `keyOf`, each group in their order, the groups in order of first appearance. */
function groupBy<K, T>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
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
  /** The membership's keys (`{prefix}`): with one partition, every key. */
  private readonly global: Part;
  /**
   * The partitions (option `partitions`): with one, the membership's keys themselves (layout 2);
   * above one, each under its own tag `{prefix:p<i>}` (layout 3), holding its clients' keys and
   * copies of the membership (the `member` script).
   */
  private readonly parts: readonly Part[];
  /** The live nodes as the last heartbeat listed them: who sweeps and reaps which partition. */
  private liveNodes: readonly string[] = [];
  /** When the last outage the membership found ended ('' for none): the partitions push their deadlines from it. */
  private outageAt = '';
  /** Partitions whose last sweep left due deadlines: the next sweep goes on with them. */
  private readonly sweepMore = new Set<number>();
  /** During `leave()`: a partition that answers fenced has been left (not a partition that lost its copies). */
  private leaving = false;
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
  /** The same per partition (layout 3; index i for partition i). */
  private readonly partitionHighest: number[];
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
    this.global = { index: -1, keys: this.keys, script: this.scriptKeys };
    const { partitions } = options;
    this.parts =
      partitions === 1
        ? [this.global]
        : Array.from({ length: partitions }, (_, index) => {
            const keys = clusterKeys(options.keyPrefix, index, partitions);
            return { index, keys, script: scriptKeys(keys) };
          });
    this.partitionHighest = new Array<number>(partitions === 1 ? 0 : partitions).fill(0);
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
  private async run(
    script: BuiltScript,
    keys: readonly string[],
    args: readonly string[],
    part: Part = this.global,
  ): Promise<unknown> {
    const joins = this.joins;
    const raw = await this.runner.run(script, keys, args);
    if (!script.writes) return raw;
    const [writes, reply] = asArray(raw, script.name);
    const counter = Number(writes);
    if (joins === this.joins) {
      const highest = part.index < 0 ? this.highestWrites : (this.partitionHighest[part.index] ?? 0);
      if (counter <= highest) this.wentBack = true;
      else if (part.index < 0) this.highestWrites = counter;
      else this.partitionHighest[part.index] = counter;
    }
    return reply;
  }

  /**
   * The arguments every periodic script ends with: the epoch joined, `seen` and `highest` (see the
   * `stale` fragment; in a partition of layout 3, `partitionStale`: no `seen`).
   */
  private staleArgs(part: Part = this.global): string[] {
    const counter = part.index < 0 ? this.highestWrites : (this.partitionHighest[part.index] ?? 0);
    const highest = this.wentBack ? Number.MAX_SAFE_INTEGER : counter;
    const seen = part.index < 0 ? this.seenWrites : '';
    return [this.joinedEpoch ?? '', seen, highest > 0 ? String(highest) : ''];
  }

  /** Whether the clients are spread over partitions (layout 3). */
  private get partitioned(): boolean {
    return this.parts.length > 1;
  }

  /** The partition of a client (with one, the membership's keys). */
  private partOf(clientId: string): Part {
    return this.parts[partitionOf(clientId, this.parts.length)] ?? this.global;
  }

  /** The partitions this node sweeps and reaps: those rendezvous hashing gives it over the live nodes. */
  private ownParts(): Part[] {
    if (!this.partitioned) return [this.global];
    const live = this.liveNodes.includes(this.nodeId) ? this.liveNodes : [...this.liveNodes, this.nodeId];
    return this.parts.filter((part) => rendezvous(live, part.index) === this.nodeId);
  }

  /**
   * A partition answered NODE_FENCED. Fenced it is when the membership says this incarnation is
   * no longer alive (or it is leaving, partition by partition); when the membership says it is,
   * the partition does not know it: it lost its data (a master restarted empty) or went back to
   * before this node's join. That is reported as a rollback at the next heartbeat (every node
   * rejoins and writes back what it holds, see docs/partitions.md) and answered `UNAVAILABLE`.
   */
  private async fencedIn(part: Part, inc: string): Promise<'node-fenced'> {
    // the call's incarnation ended since (a rejoin): fenced, whatever the partition knows
    if (part.index < 0 || this.leaving || inc !== this.inc) return 'node-fenced';
    const node = this.nodeId;
    const status = asArray(
      await this.runner.command(['HMGET', this.keys.node(node), 'inc', 'state'], 'fenced'),
      'fenced',
    ).map(asString);
    if (status[0] !== inc || status[1] !== 'alive' || inc !== this.inc) return 'node-fenced';
    this.wentBack = true;
    throw new SupervisorError(
      'UNAVAILABLE',
      `socket.io-supervisor/cluster: partition ${part.index} (${part.keys.tag}) does not know this node's incarnation ${inc}: it lost its data or went back to older data; the node rejoins and writes back what it holds`,
    );
  }

  /**
   * Reads the same thing from every partition, one call per Redis (the `partitions` script: on a
   * Redis Cluster one per master, its partitions together): one entry per partition, in order.
   */
  private async acrossParts(
    what: 'versions' | 'counts' | 'owned' | 'due',
    extra: readonly string[] = [],
    parts: readonly Part[] = this.parts,
  ): Promise<unknown[]> {
    const groups = groupBy(parts, (part) => serverOfSlot(this.client, keySlot(part.keys.meta)) ?? part);
    const out = new Array<unknown>(this.parts.length);
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const first = group[0] as Part;
        const args = [what, String(group.length), ...group.map((part) => part.keys.tag), ...extra];
        const reply = asArray(await this.run(this.scripts.partitions, first.script.partitions(), args, first), what);
        group.forEach((part, i) => {
          out[part.index] = reply[i];
        });
      }),
    );
    return out;
  }

  /**
   * Per partition, who served its last version read (`<myid> <run_id> <master_replid>
   * <master_replid2>`, see `mayHaveLostWrites`).
   */
  private readonly servedBy: Array<string | undefined> = [];

  /**
   * The ownership version, read on its own (the heartbeat's reply has it too, with one partition;
   * with partitions `heartbeat({ ownershipVersion: false })` skips it): see `HeartbeatResult`. With
   * partitions, one call per master that also finds a partition gone back to older data (`behind`;
   * the next heartbeat reports the rollback). A read that fails answers a version never seen.
   */
  async ownershipVersion(): Promise<number> {
    if (this.partitioned) return this.partitionVersions();
    return Number((await this.runner.command(['HGET', this.keys.meta, 'ver'], 'ownershipVersion')) ?? 0);
  }

  /** How many reads of the partitions' ownership versions failed (each answers a version of its own). */
  private versionReadsFailed = 0;

  /**
   * The sum of every partition's ownership version (layout 3). A master failing over must not fail
   * the heartbeat (the lease hangs on it): a read that fails answers a version that never came
   * before, so the node re-checks what it holds, as it would have when a version moved.
   *
   * The same read has each partition's write counter: one below what this node's own writes there
   * answered went back to older data (a replica promoted behind its master, a restart from an older
   * file) though no later call of this node's ran there to show it. The node is then `behind`, and
   * the heartbeat that follows reports the rollback.
   */
  private async partitionVersions(): Promise<number> {
    const joins = this.joins;
    // the counters this node's writes answered before the read was sent: those writes ran before
    // it (one connection per master keeps the order). A write answered while the reads of the
    // other masters are still on their way may have run after this master's read.
    const highest = [...this.partitionHighest];
    try {
      const rows = await this.acrossParts('versions');
      let sum = 0;
      rows.forEach((row, index) => {
        const [ver, writes, server] = asArray(row, 'versions').map(asString);
        sum += Number(ver || 0);
        if (joins !== this.joins) return;
        if (Number(writes || 0) < (highest[index] ?? 0)) this.wentBack = true;
        if (server !== undefined && mayHaveLostWrites(this.servedBy[index], server)) this.wentBack = true;
        this.servedBy[index] = server;
      });
      return sum;
    } catch (error) {
      if (!(error instanceof SupervisorError) || error.code !== 'UNAVAILABLE') throw error;
      this.versionReadsFailed += 1;
      return -this.versionReadsFailed;
    }
  }

  /** Runs `task` on every partition at once (each a round-trip, pipelined per shard by node-redis). */
  private eachPart<T>(task: (part: Part) => Promise<T>, parts: readonly Part[] = this.parts): Promise<T[]> {
    return Promise.all(parts.map(task));
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
      `socket.io-supervisor/cluster: Redis holds keys of key layout ${layout} with ${partitions || '?'} partition(s) under keyPrefix "${keyPrefix}" (${this.keys.schema}); this release uses layout ${keyLayout(this.parts.length).layout} with ${this.parts.length}. ` +
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
    const mine = keyLayout(this.parts.length);
    const known = [String(mine.layout), String(mine.upgradesFrom ?? '')];
    if (layout !== '' && (!known.includes(layout) || partitions !== String(mine.partitions))) {
      throw this.layoutMismatch(layout, partitions);
    }
    const args = [
      this.nodeId,
      String(outageGap),
      String(nodeTtl),
      this.processId,
      String(mine.layout),
      String(mine.partitions),
      String(mine.upgradesFrom ?? ''),
      this.partitioned ? '1' : '0',
    ];
    const reply = asArray(await this.run(this.scripts.join, this.scriptKeys.join(this.nodeId), args), 'join');
    if (asString(reply[0]) === 'NODE_ID_IN_USE') throw this.nodeIdInUse(asString(reply[1]), asString(reply[2]));
    if (asString(reply[0]) === 'LAYOUT_MISMATCH') throw this.layoutMismatch(asString(reply[1]), asString(reply[2]));
    if (asString(reply[0]) === 'LAYOUT_LIVE') {
      throw this.layoutLive(asString(reply[1]), asString(reply[2]), asString(reply[3]));
    }
    const [inc, epoch, at, ended, recovery = '', recoveryAt = ''] = reply.map(asString) as [
      string,
      string,
      string,
      string,
      string?,
      string?,
    ];
    this.inc = inc;
    this.joinedEpoch = epoch;
    this.seenWrites = '';
    this.joins += 1;
    this.highestWrites = 0;
    this.partitionHighest.fill(0);
    this.sweepMore.clear();
    this.wentBack = false;
    this.leaving = false;
    if (this.partitioned) {
      // every partition learns the incarnation before it serves any of its clients (a failure
      // fails the join; the next one ends this incarnation, the same process's)
      const told = [this.nodeId, inc, 'alive'];
      if (ended !== '') told.unshift(this.nodeId, ended, 'dead');
      await this.tell([epoch, recovery, recoveryAt, ...told]);
    }
    return { incarnation: Number(inc), epoch, at: Number(at), endedIncarnation: ended === '' ? null : Number(ended) };
  }

  /**
   * Tells every partition what changed in the membership (the `member` script): `args` is the
   * epoch, the recovery and when it began, then triples of node, incarnation, `alive` | `dead`.
   */
  private async tell(args: readonly string[]): Promise<void> {
    const nodes: string[] = [];
    for (let i = 3; i < args.length; i += 3) nodes.push(args[i] as string);
    await this.eachPart((part) => this.run(this.scripts.member, part.script.member(nodes), args, part));
  }

  /**
   * Keeps this incarnation alive; then releases the sockets of claims that got no answer. `reset`:
   * Redis lost its data, or went back to older data (`rolledBack`, found by the write counter).
   * `ownershipVersion: false`: the caller will not look at the version this time; with partitions
   * its read (one call per master) is then skipped and the answer's version is `NaN`.
   */
  async heartbeat(options: { ownershipVersion?: boolean } = {}): Promise<HeartbeatResult> {
    const [node, inc] = this.self();
    // layout 3: the partitions' versions first, so that a write counter gone back among them is
    // reported by this heartbeat (its `highest` argument)
    const ownershipVersion =
      this.partitioned && options.ownershipVersion !== false ? await this.partitionVersions() : Number.NaN;
    const args = [node, inc, String(this.options.outageGap), ...this.staleArgs()];
    const raw = asArray(await this.run(this.scripts.heartbeat, this.scriptKeys.heartbeat(node), args), 'heartbeat');
    const reply = raw.slice(0, 6).map(asString);
    if (reply[0] === 'RESET' || reply[0] === 'ROLLBACK') {
      const rolledBack = reply[0] === 'ROLLBACK' || reply[2] === '1';
      this.lastReset = rolledBack ? 'rolled-back' : 'lost';
      return rolledBack ? { outcome: 'reset', rolledBack } : { outcome: 'reset' };
    }
    if (reply[0] === 'NODE_FENCED') return { outcome: 'node-fenced' };
    this.seenWrites = reply[3] ?? '';
    this.outageAt = reply[5] ?? '';
    this.liveNodes = raw[6] === undefined ? [] : asArray(raw[6], 'heartbeat').map(asString);
    if (this.unanswered.size > 0) await this.unanswered.releaseAll();
    // layout 3: each partition has its own ownership version, read (above) one call per master;
    // their sum moves when any of them does
    return {
      outcome: 'ok',
      at: Number(reply[1]),
      outage: reply[2] === '1',
      ownershipVersion: this.partitioned ? ownershipVersion : Number(reply[4] ?? 0),
    };
  }

  /**
   * Declares dead the nodes whose heartbeat is older than `nodeTtl`, releases their clients
   * (one batch) and takes over orphaned deletions (run their onDelete again: `redelivered`).
   */
  async reap(): Promise<ReapResult<TData>> {
    const [node, inc] = this.self();
    const { nodeTtl, reconnectTimeout, outageGap, batchSize } = this.options;
    const base = [node, inc, String(nodeTtl), String(reconnectTimeout), String(outageGap), String(batchSize)];
    const args = [...base, ...this.staleArgs()];
    if (this.partitioned) return this.reapPartitioned(base, args);
    const reply = asArray(await this.run(this.scripts.reap, this.scriptKeys.reap(node, inc), args), 'reap');
    if (asString(reply[0]) === 'NODE_FENCED') return { outcome: 'node-fenced' };
    return {
      outcome: 'reaped',
      ...declared(reply[1]),
      released: Number(asString(reply[2])),
      more: asString(reply[3]) === '1',
      redelivered: asArray(reply[4], 'reap').map((entry) => parseDeletion<TData>(entry)),
      dropped: Number(asString(reply[5]) || 0),
    };
  }

  /**
   * The reap of layout 3: the membership declares the overdue nodes dead (`reap` in mode `g`),
   * then the partitions are told (mode `p`), every one while an ended incarnation is still to be
   * told (the membership keeps it in `{prefix}:reaping` until all of them answered), else those
   * this node sweeps: each releases its share of the dead incarnations' clients, redelivers its
   * orphaned deletions and runs its recovery step.
   */
  private async reapPartitioned(base: readonly string[], args: readonly string[]): Promise<ReapResult<TData>> {
    const [node, inc] = this.self();
    const reply = asArray(await this.run(this.scripts.reap, this.scriptKeys.reap(node, inc), [...args, 'g']), 'reap');
    if (asString(reply[0]) === 'NODE_FENCED') return { outcome: 'node-fenced' };
    const ended = asArray(reply[6] ?? [], 'reap').map(asString);
    let fenced = false;
    let told = true;
    const result = {
      outcome: 'reaped' as const,
      ...declared(reply[1]),
      released: 0,
      more: asString(reply[3]) === '1',
      redelivered: [] as Array<Deletion<TData>>,
      dropped: Number(asString(reply[5]) || 0),
    };
    await this.eachPart(
      async (part) => {
        const partArgs = [...base, ...this.staleArgs(part), 'p', ...ended];
        const answer = asArray(await this.run(this.scripts.reap, part.script.reap(node, inc), partArgs, part), 'reap');
        const outcome = asString(answer[0]);
        if (outcome === 'STALE' || outcome === 'NODE_FENCED') {
          told = false;
          if (outcome === 'STALE') this.wentBack = true;
          else fenced = (await this.fencedIn(part, inc)) === 'node-fenced';
          return;
        }
        result.released += Number(asString(answer[2]));
        result.more ||= asString(answer[3]) === '1';
        for (const entry of asArray(answer[4], 'reap')) result.redelivered.push(parseDeletion<TData>(entry));
        result.dropped += Number(asString(answer[5]) || 0);
      },
      ended.length > 0 ? this.parts : await this.dueParts('reap'),
    );
    if (fenced) return { outcome: 'node-fenced' };
    if (ended.length > 0 && told) await this.runner.command(['SREM', this.keys.reaping, ...ended], 'reap');
    return result;
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
    const leaveIn = async (part: Part): Promise<boolean> => {
      for (;;) {
        const reply = asArray(
          await this.run(this.scripts.leave, part.script.leave(node, inc), args, part),
          'leave',
        ).map(asString);
        if (reply[0] === 'NODE_FENCED') return false;
        released += Number(reply[1]);
        if (reply[0] === 'left') return true;
      }
    };
    if (this.partitioned) {
      // layout 3: each partition releases this incarnation's clients there, then the membership
      this.leaving = true;
      await this.eachPart(leaveIn);
    }
    if (!(await leaveIn(this.global))) return { outcome: 'node-fenced' };
    return { outcome: 'left', released };
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
    const part = this.partOf(clientId);
    const reply = asArray(
      await this.run(this.scripts.register, part.script.register(clientId, node, inc), args, part),
      'register',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: await this.fencedIn(part, inc) };
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
    const part = this.partOf(clientId);
    try {
      const args = [clientId, hashToken(token), socketId, tabId, node, inc];
      reply = asArray(await this.run(this.scripts.claim, part.script.claim(clientId, node, inc), args, part), 'claim');
      if (asString(reply[0]) === 'NODE_FENCED') await this.fencedIn(part, inc);
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

  /** `items` grouped by the partition of each one's client, in their order. */
  private byPart<T>(items: readonly T[], clientOf: (item: T) => string): Map<Part, T[]> {
    return groupBy(items, (item) => this.partOf(clientOf(item)));
  }

  /** Due marks to clear (`connectHookRan`), sent together on the next tick. */
  private readonly ranConnects = new Map<string, [string, string]>();
  private ranScheduled = false;

  /**
   * The owner ran `onConnect` for the connect of `socketId`: clears the client's due mark (see
   * `lua/hookRan.ts`). Fire and forget, batched: the marks of one tick (with partitions: of 10 ms)
   * go in one round-trip per master. A mark
   * left behind (Redis unreachable) matters only if its owner dies while the client is still
   * connected on it: the client's next owner runs that `onConnect` again.
   */
  connectHookRan(clientId: string, socketId: string): void {
    this.ranConnects.set(`${checkId('clientId', clientId)} ${checkText('socketId', socketId)}`, [clientId, socketId]);
    if (this.ranScheduled) return;
    this.ranScheduled = true;
    // with partitions the marks go in one call per master: they wait up to RAN_WINDOW_MS to share it
    const later = (send: () => void) =>
      this.partitioned ? setTimeout(send, RAN_WINDOW_MS).unref() : setImmediate(send);
    later(() => {
      this.ranScheduled = false;
      const batch = [...this.ranConnects.values()];
      this.ranConnects.clear();
      // one call per Redis: on a Redis Cluster, the partitions a master serves together
      const marks = batch.map(([clientId, socketId]) => ({ part: this.partOf(clientId), clientId, socketId }));
      const groups = groupBy(marks, ({ part, clientId }) =>
        this.partitioned ? (serverOfSlot(this.client, keySlot(part.keys.client(clientId))) ?? part) : this.global,
      );
      for (const group of groups.values()) {
        for (let i = 0; i < group.length; i += RAN_BATCH) {
          const slice = group
            .slice(i, i + RAN_BATCH)
            .map((mark) => [mark.part.keys.client(mark.clientId), mark.socketId]);
          const args = slice.flat();
          this.run(this.scripts.hookRan, [args[0] as string], args).catch((error: unknown) =>
            this.options.logger.debug({ err: error }, 'socket.io-supervisor/cluster: could not clear due hooks'),
          );
        }
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
    const part = this.partOf(clientId);
    const reply = asArray(
      await this.run(this.scripts.disconnect, part.script.disconnect(clientId, node), args, part),
      'disconnect',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: await this.fencedIn(part, inc) };
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
    const part = this.partOf(clientId);
    const reply = asArray(
      await this.run(this.scripts.delete, part.script.delete(clientId, deletionId, node, inc), args, part),
      'delete',
    );
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: await this.fencedIn(part, inc) };
    if (outcome === 'deleted') return { outcome, deletion: parseDeletion<TData>(reply[1]) };
    if (outcome === 'replay') {
      return reply[1] === undefined ? { outcome } : { outcome, deletion: parseDeletion<TData>(reply[1]) };
    }
    return { outcome: outcome as 'already-deleted' | 'unknown-client' };
  }

  /**
   * Marks a deletion's onDelete as done. `fenced`: it was redelivered to another node meanwhile.
   * With `partitions` above 1 the deleted client's id is needed too (its partition holds the entry).
   */
  async completeDeletion(deletionId: string, clientId?: string): Promise<'completed' | 'gone' | 'fenced'> {
    const [node, inc] = this.self();
    const id = checkId('deletionId', deletionId);
    if (this.partitioned && clientId === undefined) {
      throw invalid("completeDeletion: with `partitions` above 1, pass the deleted client's id too");
    }
    const part = clientId === undefined ? this.global : this.partOf(checkId('clientId', clientId));
    const reply = await this.run(
      this.scripts.completeDeletion,
      part.script.completeDeletion(id, node, inc),
      [id, node, inc],
      part,
    );
    return asString(reply) as 'completed' | 'gone' | 'fenced';
  }

  /** Deletions assigned to this incarnation and not completed (to reconcile after lost replies). */
  async pendingDeletions(): Promise<Array<Deletion<TData>>> {
    const [node, inc] = this.self();
    const replies = await this.eachPart(async (part) =>
      asArray(
        await this.run(this.scripts.pendingDeletions, part.script.pendingDeletions(node, inc), [node, inc], part),
        'pendingDeletions',
      ),
    );
    return replies.flat().map((entry) => parseDeletion<TData>(entry));
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
    if (this.partitioned) return this.sweepPartitioned(args);
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
   * The sweep of layout 3: a batch in each partition this node sweeps (rendezvous hashing over the
   * live nodes of its last heartbeat; two nodes that disagree both sweep one, which is harmless),
   * or, after a batch that left due deadlines, in those partitions only.
   */
  private async sweepPartitioned(args: readonly string[]): Promise<SweepResult<TData>> {
    const [node, inc] = this.self();
    const parts =
      this.sweepMore.size > 0 ? this.parts.filter((part) => this.sweepMore.has(part.index)) : await this.dueParts();
    this.sweepMore.clear();
    let fenced = false;
    const deletions: Array<Deletion<TData>> = [];
    await this.eachPart(async (part) => {
      const partArgs = [...args, randomId(), ...this.staleArgs(part), 'p', this.outageAt];
      const reply = asArray(await this.run(this.scripts.sweep, part.script.sweep(node, inc), partArgs, part), 'sweep');
      const outcome = asString(reply[0]);
      if (outcome === 'STALE') {
        this.wentBack = true;
        return;
      }
      if (outcome === 'NODE_FENCED') {
        fenced = (await this.fencedIn(part, inc)) === 'node-fenced';
        return;
      }
      if (asString(reply[2]) === '1') this.sweepMore.add(part.index);
      if (outcome === 'swept')
        for (const entry of asArray(reply[3], 'sweep')) deletions.push(parseDeletion<TData>(entry));
    }, parts);
    if (fenced) return { outcome: 'node-fenced' };
    return { outcome: 'swept', deletions, more: this.sweepMore.size > 0 };
  }

  /**
   * Of the partitions this node sweeps, those with work: for the sweep a deadline due, or deadlines
   * and an outage they have not had their grace period for, or a copy that holds this incarnation
   * ended (its sweep script answers fenced, as the sweep of layout 2 does with nothing due); for
   * the reap incarnations to reap, orphaned deletions or a recovery. One read per master, so a quiet
   * cluster costs no sweep or reap script at all; a partition whose read failed is swept.
   */
  private async dueParts(kind: 'sweep' | 'reap' = 'sweep'): Promise<Part[]> {
    const mine = this.ownParts();
    if (mine.length === 0) return mine;
    let rows: unknown[];
    try {
      rows = await this.acrossParts('due', this.self(), mine);
    } catch (error) {
      if (error instanceof SupervisorError && error.code === 'UNAVAILABLE') return mine;
      throw error;
    }
    const outage = Number(this.outageAt || 0);
    return mine.filter((part) => {
      const row = rows[part.index];
      if (row === undefined) return true;
      const [due, any, graceSeen, reap, ended] = asArray(row, 'due').map(asString);
      if (kind === 'reap') return reap !== '0';
      return due === '1' || ended === '1' || (any === '1' && outage > Number(graceSeen || 0));
    });
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
        const part = this.partOf(clientId);
        const reply = asString(
          await this.run(this.scripts.restore, part.script.restore(clientId, node, inc), args, part),
        );
        return reply === 'NODE_FENCED' ? this.fencedIn(part, inc) : (reply as RestoreOutcome);
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
    for (const deletion of deletions) {
      if (!Number.isSafeInteger(deletion.ttl) || deletion.ttl < 1) throw invalid('writeBack: `ttl` must be ≥ 1 ms');
      checkId('clientId', deletion.clientId);
      checkId('deletionId', deletion.deletionId);
      checkText('reason', deletion.reason);
    }
    const writeIn = async (part: Part, batch: typeof deletions): Promise<number | 'node-fenced'> => {
      const args = [node, inc, done ? '1' : '0'];
      for (const { clientId, deletionId, reason, ttl } of batch) args.push(clientId, deletionId, reason, String(ttl));
      const reply = asArray(
        await this.run(this.scripts.writeBack, part.script.writeBack(node, batch), args, part),
        'writeBack',
      ).map(asString);
      return reply[0] === 'NODE_FENCED' ? this.fencedIn(part, inc) : Number(reply[1]);
    };
    if (!this.partitioned) return writeIn(this.global, deletions);
    // layout 3: each partition gets its deletions; the last call marks every partition written
    // back (its recovery waits for it) and the membership
    const groups = this.byPart(deletions, (deletion) => deletion.clientId);
    const parts = done ? this.parts : [...groups.keys()];
    const outcomes = await this.eachPart((part) => writeIn(part, groups.get(part) ?? []), parts);
    if (done) outcomes.push(await writeIn(this.global, []));
    if (outcomes.includes('node-fenced')) return 'node-fenced';
    return (outcomes as number[]).reduce((sum, removed) => sum + removed, 0);
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
    const groups = [...this.byPart(ids, (id) => id)];
    const replies = await Promise.all(
      groups.map(async ([part, group]) =>
        asArray(await this.run(this.scripts.owned, part.script.owned(group), [node, inc, ...group], part), 'owned'),
      ),
    );
    return replies.flat().map((row) => {
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
    const part = this.partOf(clientId);
    const keys = part.script.delete(clientId, deletionId, node, inc);
    const reply = asArray(await this.run(this.scripts.emit, keys, args, part), 'emit');
    const outcome = asString(reply[0]);
    if (outcome === 'NODE_FENCED') return { outcome: await this.fencedIn(part, inc) };
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
    const part = this.partOf(id);
    const reply = asArray(await this.run(this.scripts.ack, part.script.ack(id), [id, String(upTo)], part), 'ack').map(
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
    const part = this.partOf(id);
    const reply = asArray(
      await this.run(this.scripts.outbox, part.script.outbox(id), [id, String(after)], part),
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
    const part = this.partOf(id);
    const reply = asArray(await this.run(this.scripts.get, part.script.get(id), [], part), 'get');
    if (reply.length === 0) return undefined;
    return {
      client: parseRecord<TData>(id, reply),
      outbox: parseOutbox(reply.slice(RECORD_FIELDS.length)),
    };
  }

  /** Whether a tombstone says this client was deleted (less than `tombstoneTtl` ago). */
  async isDeleted(clientId: string): Promise<boolean> {
    const id = checkId('clientId', clientId);
    const reply = await this.runner.command(['EXISTS', this.partOf(id).keys.tombstone(id)], 'isDeleted');
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
    const node = filter.node ?? '';
    // layout 3: the cursor is `<partition>/<the partition's own cursor>`, the partitions in turn
    let index = 0;
    let cursor = filter.cursor ?? '';
    if (this.partitioned && cursor !== '') {
      const match = /^(\d+)\/(.*)$/.exec(cursor);
      index = match === null ? this.parts.length : Number(match[1]);
      cursor = match?.[2] ?? '';
    }
    const clients: ListViewsPage<TData>['clients'] = [];
    while (index < this.parts.length && clients.length < limit) {
      const part = this.parts[index] as Part;
      const args = [state, node, cursor, String(limit - clients.length)];
      const reply = asArray(await this.run(this.scripts.list, part.script.list(node), args, part), 'list');
      for (const row of asArray(reply[1], 'list')) {
        const [clientId, ...snapshot] = asArray(row, 'list');
        clients.push({
          client: parseRecord<TData>(asString(clientId), snapshot),
          outbox: parseOutbox(snapshot.slice(RECORD_FIELDS.length)),
        });
      }
      cursor = asString(reply[0]);
      if (cursor === '') index += 1;
    }
    if (index >= this.parts.length) return { clients, cursor: null };
    return { clients, cursor: this.partitioned ? `${index}/${cursor}` : cursor };
  }

  /** Cluster-wide counts by state, and the number of live nodes. */
  async counts(): Promise<ClusterCounts> {
    const read = async (part: Part) =>
      asArray(await this.run(this.scripts.counts, part.script.counts(), [], part), 'counts').map((v) =>
        Number(asString(v)),
      );
    const [membership, parts] = await Promise.all([
      read(this.global),
      this.partitioned ? this.acrossParts('counts') : Promise.resolve([]),
    ]);
    const rows = parts.map((row) => asArray(row, 'counts').map((v) => Number(asString(v))));
    const sum = (i: number) =>
      rows.length === 0 ? (membership[i] ?? 0) : rows.reduce((n, row) => n + (row[i] ?? 0), 0);
    const [handshaking, connected, disconnected] = [sum(0), sum(1), sum(2)];
    const nodes = membership[3] ?? 0;
    return { handshaking, connected, disconnected, total: handshaking + connected + disconnected, nodes };
  }

  /** The live node incarnations, with their heartbeat and client count. */
  async nodes(): Promise<ClusterNode[]> {
    const read = async (part: Part) =>
      asArray(await this.run(this.scripts.nodes, part.script.nodes(), [], part), 'nodes').map((row) =>
        asArray(row, 'nodes').map(asString),
      );
    const membership = await read(this.global);
    // layout 3: each partition counts the clients each incarnation owns there
    const owned = membership.map(() => 0);
    if (this.partitioned && membership.length > 0) {
      const incarnations = membership.map(([node, inc]) => `${node}:${inc}`);
      for (const row of await this.acrossParts('owned', incarnations)) {
        asArray(row, 'nodes').forEach((count, k) => {
          owned[k] = (owned[k] ?? 0) + Number(asString(count));
        });
      }
    }
    return membership.map(([node = '', inc, state, heartbeatAt, joinedAt, clients], k) => ({
      node,
      incarnation: Number(inc),
      state: state as ClusterNode['state'],
      heartbeatAt: Number(heartbeatAt),
      joinedAt: Number(joinedAt),
      clients: this.partitioned ? (owned[k] ?? 0) : Number(clients),
    }));
  }

  /**
   * Listens for notices to this node (a client it owned was taken over or deleted elsewhere, a
   * message queued elsewhere for a client it owns), on the store's pub/sub connection. Listening
   * once this resolves; returns the function that stops listening.
   */
  async subscribe(listener: (notice: ClusterNotice) => void): Promise<() => Promise<void>> {
    // layout 3: the partitions' scripts publish on their own shard channels, one each
    const stops = await this.eachPart((part) =>
      this.subscriber.listen(part.keys.notices(this.nodeId), (message) => listener(decodeNotice(message))),
    );
    return async () => {
      await Promise.all(stops.map((stop) => stop()));
    };
  }

  /**
   * Listens for a client's announcements from any node: `connected` (a claim connected it) and
   * `deleted`. Listening once this resolves; returns the function that stops listening.
   */
  watch(clientId: string, listener: (announcement: ClientAnnouncement) => void): Promise<() => Promise<void>> {
    const id = checkId('clientId', clientId);
    const channel = this.partOf(id).keys.watch(id);
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

/**
 * Whether the Redis that now serves a partition (`now`, as the `partitions` script's 'versions'
 * read answers it: `<myid> <run_id> <master_replid> <master_replid2>`) may have lost writes the one
 * before (`before`) acknowledged: the same cluster node, or the same replication history, in a new
 * process (a restart, from a file older than the last writes or from none), or a replica promoted
 * in its place (its `master_replid2` is the old master's id; replication is asynchronous). Another
 * master that took the slot by a move (`MIGRATE` copies the keys) is not one.
 */
export function mayHaveLostWrites(before: string | undefined, now: string): boolean {
  if (before === undefined || before === now) return false;
  const [myidBefore = '', runBefore = '', replBefore = ''] = before.split(' ');
  const [myid = '', run = '', repl = '', repl2 = ''] = now.split(' ');
  if (run === runBefore) return false;
  if (myid !== '' && myid === myidBefore) return true;
  if (repl !== '' && repl === replBefore) return true;
  return replBefore !== '' && repl2 === replBefore;
}

/** The reap's declared dead incarnations, `'<node>:<inc>'` each: the nodes and their incarnations. */
function declared(reply: unknown): { declaredDead: string[]; declaredIncarnations: number[] } {
  const declaredDead: string[] = [];
  const declaredIncarnations: number[] = [];
  for (const entry of asArray(reply, 'reap').map(asString)) {
    const at = entry.lastIndexOf(':');
    declaredDead.push(entry.slice(0, at));
    declaredIncarnations.push(Number(entry.slice(at + 1)));
  }
  return { declaredDead, declaredIncarnations };
}
