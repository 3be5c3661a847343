import { SupervisorError } from '../../core/errors.js';
import {
  type CommandSender,
  clusterClientOptions,
  closeClient,
  commandSender,
  connectWithin,
  type NodeRedisClient,
  toUnavailable,
} from './connection.js';
import { type ClusterKeys, clusterKeys, partitionOf } from './keys.js';
import { DATA_INLINE_MAX } from './lua/fields.js';
import {
  dropClientsScript,
  dropDeletionScript,
  finishScript,
  lockScript,
  MIGRATE_SCRIPTS,
  readClientsScript,
  readDeletionScript,
  writeClientsScript,
  writeDeletionScript,
} from './migrateScripts.js';
import { asArray, asString } from './parse.js';
import { ScriptRunner } from './scriptRunner.js';
import { defaultClusterOptions } from './storeOptions.js';

/** Options of {@link migrateToPartitions}. */
export interface MigrateToPartitionsOptions {
  /**
   * A Redis URL (a connection is opened and closed), or a connected node-redis 6 client:
   * `createClient()`, `createCluster()` or `createSentinel()`, as the store's `redis`.
   */
  redis: string | NodeRedisClient;
  /** The cluster's `keyPrefix`. @default 'sup' */
  keyPrefix?: string;
  /** The partition count to migrate to (2 to 16384): the nodes' option `partitions` afterwards. */
  partitions: number;
  /**
   * A node (alive or leaving) whose heartbeat is younger than this is live, and the migration is
   * refused; one older is ended as dead, as a reap would. Take the nodes' `nodeTtl`. @default 10000
   */
  nodeTtl?: number;
  /** Check and count, write nothing. @default false */
  dryRun?: boolean;
  /** Keys read per `SCAN` page (the clients of a page are moved at once). @default 500 */
  batchSize?: number;
  /** A command unanswered this long fails the run (`UNAVAILABLE`; run it again). @default 2000 */
  commandTimeout?: number;
  /** Called after each batch of clients moved and at the end, with the totals so far. */
  onProgress?: (progress: MigrationSummary) => void;
}

/** What a migration did (or, in a dry run, would do). */
export interface MigrationSummary {
  readonly dryRun: boolean;
  /** The key layout it migrates from: 1 or 2 (a Redis without a schema key: 1). */
  readonly from: number;
  readonly partitions: number;
  /** Incarnations still alive or leaving but silent past `nodeTtl`, ended as dead first (`<node>:<inc>`). */
  readonly endedIncarnations: readonly string[];
  /** Clients moved (any of their keys: a record, a tombstone, ...). */
  readonly clients: number;
  /** Of them, those with a record. */
  readonly records: number;
  /** Tombstones moved (each with its remaining time to live). */
  readonly tombstones: number;
  /** Outbox messages moved. */
  readonly messages: number;
  /** Deletion journal entries moved. */
  readonly deletions: number;
  /** Index entries naming no client or deletion (moved for clients, dropped for deletions). */
  readonly strays: number;
  /** Whether every key was moved and the schema says layout 3 (false for a dry run). */
  readonly complete: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A client's keys and index entries, as read from `{prefix}`. */
interface ClientCopy {
  id: string;
  record: string[];
  data: string[];
  tomb: string[];
  outbox: string[];
  emitIds: string[];
  deadline: string[];
  states: string[];
  unheld: boolean;
  owner: string;
}

/** Index keys of client ids under `{prefix}` (moved member by member, by each one's partition). */
const CLIENT_SETS = /^(state:.+|owned:.+|unheld)$/;
/** Index keys of deletion ids (their entries carry their client's id). */
const DELETION_SETS = /^(dels:.+|orphans)$/;

function refused(message: string): SupervisorError {
  return new SupervisorError('KEY_LAYOUT_MISMATCH', `socket.io-supervisor/cluster migrate:partitions: ${message}`);
}

/** Clients per read, write and delete script: a script runs alone in Redis, so not too long. */
const CLIENTS_PER_SCRIPT = 100;

/** `list` in slices of {@link CLIENTS_PER_SCRIPT}. */
function chunked<T>(list: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < list.length; i += CLIENTS_PER_SCRIPT) chunks.push(list.slice(i, i + CLIENTS_PER_SCRIPT));
  return chunks;
}

/** Field-value pairs (HGETALL) as a map. */
function pairs(list: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i] as string, list[i + 1] as string);
  return map;
}

/** ZRANGE WITHSCORES answers member, score, ...; ZADD takes score, member, ... */
function scoreFirst(list: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push(list[i + 1] as string, list[i] as string);
  return out;
}

/**
 * The offline migration from key layout 2 (or 1) to the partitioned layout 3: every client's keys
 * move from `{prefix}` into its partition `{prefix:p<i>}` (`partitionOf`), node membership stays.
 * Refused while a node is live; the nodes are stopped first, then started with `partitions` (see
 * docs/partitions.md, "Migration from `{sup}`"). Safe to run again after an interruption: it
 * resumes (each client is copied, then its old keys deleted in one step; the schema is written last).
 *
 * @example
 * ```ts
 * import { migrateToPartitions } from 'socket.io-supervisor/cluster';
 * const summary = await migrateToPartitions({ redis: 'redis://127.0.0.1:6379', partitions: 256 });
 * ```
 */
export function migrateToPartitions(options: MigrateToPartitionsOptions): Promise<MigrationSummary> {
  return runMigration(options);
}

/**
 * For tests of an interrupted run: {@link migrateToPartitions} stopped once `limit` clients were
 * copied, the last one's old keys left in place, as a kill between its copy and its delete would.
 */
export function migrateUpTo(options: MigrateToPartitionsOptions, limit: number): Promise<MigrationSummary> {
  return runMigration(options, limit);
}

async function runMigration(options: MigrateToPartitionsOptions, limit?: number): Promise<MigrationSummary> {
  const keyPrefix = options.keyPrefix ?? defaultClusterOptions.keyPrefix;
  const { partitions } = options;
  const nodeTtl = options.nodeTtl ?? defaultClusterOptions.nodeTtl;
  const batchSize = options.batchSize ?? 500;
  const commandTimeout = options.commandTimeout ?? defaultClusterOptions.commandTimeout;
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(keyPrefix)) {
    throw new TypeError('socket.io-supervisor/cluster: `keyPrefix` must be 1-32 letters, digits, `.`, `_` or `-`');
  }
  if (!Number.isSafeInteger(partitions) || partitions < 2 || partitions > 16384) {
    throw new TypeError(
      `socket.io-supervisor/cluster: \`partitions\` must be a whole number from 2 to 16384, got ${String(partitions)}`,
    );
  }
  for (const [name, value] of [
    ['nodeTtl', nodeTtl],
    ['batchSize', batchSize],
    ['commandTimeout', commandTimeout],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`socket.io-supervisor/cluster: \`${name}\` must be a whole number >= 1, got ${value}`);
    }
  }
  let client: NodeRedisClient;
  const owned = typeof options.redis === 'string';
  if (typeof options.redis === 'string') {
    const { createClient } = await import('redis');
    client = createClient(clusterClientOptions(options.redis, commandTimeout)) as unknown as NodeRedisClient;
    client.on('error', () => {});
    await connectWithin(client, commandTimeout);
  } else client = options.redis;
  try {
    return await new Migration(client, keyPrefix, partitions, nodeTtl, batchSize, commandTimeout, options, limit).run();
  } finally {
    if (owned) await closeClient(client);
  }
}

/** One run of the migration. */
class Migration {
  private readonly runner: ScriptRunner;
  private readonly sender: CommandSender;
  private readonly global: ClusterKeys;
  private readonly parts: ClusterKeys[];
  private readonly dryRun: boolean;
  private summary!: Mutable<MigrationSummary>;
  private stopped = false;

  constructor(
    client: NodeRedisClient,
    private readonly prefix: string,
    private readonly partitions: number,
    private readonly nodeTtl: number,
    private readonly batchSize: number,
    commandTimeout: number,
    private readonly options: MigrateToPartitionsOptions,
    private readonly limit: number | undefined,
  ) {
    this.runner = new ScriptRunner(client, commandTimeout);
    this.sender = commandSender(client);
    this.global = clusterKeys(prefix);
    this.parts = Array.from({ length: partitions }, (_, i) => clusterKeys(prefix, i, partitions));
    this.dryRun = options.dryRun === true;
  }

  async run(): Promise<MigrationSummary> {
    await this.runner.load(MIGRATE_SCRIPTS);
    const reply = asArray(
      await this.runner.run(
        lockScript,
        [this.global.schema, this.global.nodes],
        [String(this.partitions), String(this.nodeTtl), this.dryRun ? '1' : '0'],
      ),
      'migrate',
    );
    const outcome = asString(reply[0]);
    const { schema } = this.global;
    if (outcome === 'LIVE') {
      throw refused(
        `node "${asString(reply[1])}" is ${asString(reply[2])} under keyPrefix "${this.prefix}" (heartbeat ${asString(reply[3])} ms ago, nodeTtl ${this.nodeTtl} ms): the migration is offline; stop every node first (or wait until its heartbeat is older than nodeTtl)`,
      );
    }
    if (outcome === 'DONE') {
      throw refused(
        `${schema} already says key layout 3 with ${asString(reply[1])} partitions: nothing to migrate (a partition count, once written, does not change)`,
      );
    }
    if (outcome === 'OTHER') {
      throw refused(
        `a migration to ${asString(reply[1])} partitions is under way (${schema} layout "migrating"): finish it with --partitions ${asString(reply[1])}`,
      );
    }
    if (outcome === 'UNKNOWN') {
      throw refused(
        `${schema} says key layout ${asString(reply[1])} with ${asString(reply[2]) || '?'} partition(s): this migration moves layout 2 (one partition) or 1 only`,
      );
    }
    const from = asString(reply[1]);
    this.summary = {
      dryRun: this.dryRun,
      from: from === '' ? 1 : Number(from),
      partitions: this.partitions,
      endedIncarnations: asArray(reply[2], 'migrate').map(asString),
      clients: 0,
      records: 0,
      tombstones: 0,
      messages: 0,
      deletions: 0,
      strays: 0,
      complete: false,
    };
    const sets = new Set<string>();
    const nodes = new Set<string>();
    // the clients of several pages are moved together, so that each partition's write holds a few
    // (with 256 partitions a page's clients would be one per write)
    const flushAt = Math.min(10_000, Math.max(this.batchSize, 8 * this.partitions));
    const pending = new Set<string>();
    let cursor = '0';
    do {
      const page = asArray(
        await this.send(['SCAN', cursor, 'MATCH', `${this.global.tag}:*`, 'COUNT', String(this.batchSize)]),
        'migrate',
      );
      cursor = asString(page[0]);
      const deletions = new Set<string>();
      for (const key of asArray(page[1], 'migrate').map(asString)) {
        const name = key.slice(this.global.tag.length + 1);
        const perClient = /^([cxtoe]):(.+)$/.exec(name);
        if (perClient) pending.add(perClient[2] as string);
        else if (name.startsWith('d:')) deletions.add(name.slice(2));
        else if (name.startsWith('node:')) nodes.add(name.slice(5));
        else if (CLIENT_SETS.test(name) || DELETION_SETS.test(name) || name === 'deadlines') sets.add(name);
      }
      await Promise.all([...deletions].map((did) => this.moveDeletion(did)));
      if (pending.size < flushAt && cursor !== '0') continue;
      if (this.limit === undefined) await this.moveClients([...pending]);
      else {
        // one at a time: the one that reaches the limit is copied, and its old keys kept
        for (const id of pending) {
          await this.moveClients([id]);
          if (this.stopped) return this.summary;
        }
      }
      pending.clear();
      this.options.onProgress?.(this.summary);
    } while (cursor !== '0');
    if (!this.dryRun) {
      for (const name of sets) await this.moveStrays(name);
      await this.runner.run(finishScript, [schema], [String(this.partitions), ...nodes]);
      this.summary.complete = true;
    }
    this.options.onProgress?.(this.summary);
    return this.summary;
  }

  /** A command routed to the master of `{prefix}` (`SCAN` has no key of its own). */
  private async send(args: string[]): Promise<unknown> {
    try {
      return await this.sender(args, this.global.schema);
    } catch (error) {
      throw toUnavailable(error, 'migrate');
    }
  }

  /** The keys of the client scripts under one tag (`SHARED_KEYS`, then five per client). */
  private clientKeys(keys: ClusterKeys, ids: readonly string[]): string[] {
    return [
      keys.deadlines,
      ...keys.states,
      keys.unheld,
      keys.reaping,
      ...ids.flatMap((id) => [keys.client(id), keys.data(id), keys.tombstone(id), keys.outbox(id), keys.emitIds(id)]),
    ];
  }

  /**
   * Copies clients into their partitions, then deletes their old keys: three scripts for them all
   * (a read under `{prefix}`, a write per partition, a delete under `{prefix}`), each atomic, each
   * idempotent: a run stopped anywhere leaves every client in its old place, its new one, or both
   * with the same values.
   */
  private async moveClients(ids: readonly string[]): Promise<void> {
    const copies = (await Promise.all(chunked(ids).map((chunk) => this.readClients(chunk)))).flat();
    if (this.dryRun || copies.length === 0) return;
    const byPart = new Map<number, ClientCopy[]>();
    for (const copy of copies) {
      const p = partitionOf(copy.id, this.partitions);
      const group = byPart.get(p);
      if (group) group.push(copy);
      else byPart.set(p, [copy]);
    }
    await Promise.all(
      [...byPart].flatMap(([p, group]) =>
        chunked(group).map((chunk) =>
          this.runner.run(
            writeClientsScript,
            this.clientKeys(
              this.parts[p] as ClusterKeys,
              chunk.map(({ id }) => id),
            ),
            [JSON.stringify(chunk)],
          ),
        ),
      ),
    );
    if (this.limit !== undefined && this.summary.clients >= this.limit) {
      this.stopped = true;
      return;
    }
    await Promise.all(
      chunked(copies).map((chunk) =>
        this.runner.run(
          dropClientsScript,
          this.clientKeys(
            this.global,
            chunk.map(({ id }) => id),
          ),
          chunk.flatMap(({ id, owner }) => [id, owner]),
        ),
      ),
    );
  }

  /** Clients' keys under `{prefix}` (one script), counted; those with none left out (moved by an earlier page). */
  private async readClients(ids: readonly string[]): Promise<ClientCopy[]> {
    const replies = asArray(
      await this.runner.run(readClientsScript, this.clientKeys(this.global, ids), ids),
      'migrate',
    );
    const copies: ClientCopy[] = [];
    replies.forEach((raw, index) => {
      const reply = asArray(raw, 'migrate');
      const list = (i: number) => asArray(reply[i], 'migrate').map(asString);
      const copy: ClientCopy = {
        id: ids[index] as string,
        record: list(0),
        data: list(1),
        tomb: list(2),
        outbox: scoreFirst(list(3)),
        emitIds: scoreFirst(list(4)),
        deadline: list(5),
        states: list(6),
        unheld: Number(reply[7]) === 1,
        owner: asString(reply[8]),
      };
      if ([copy.record, copy.data, copy.tomb, copy.outbox, copy.emitIds].every((part) => part.length === 0)) return;
      // a record of layout 1 may hold a long `data` in its hash: it goes to its data key, as layout 2 writes it
      const fields = pairs(copy.record);
      const inline = fields.get('data');
      if (inline !== undefined && Buffer.byteLength(inline) > DATA_INLINE_MAX) {
        fields.delete('data');
        copy.record = [...fields].flat();
        if (copy.data.length === 0) copy.data = [inline];
      }
      this.summary.clients += 1;
      if (copy.record.length > 0) this.summary.records += 1;
      if (copy.tomb.length > 0) this.summary.tombstones += 1;
      this.summary.messages += copy.outbox.length / 2;
      copies.push(copy);
    });
    return copies;
  }

  /** Moves a deletion journal entry into its client's partition, with its memberships. */
  private async moveDeletion(did: string): Promise<void> {
    const source = [this.global.deletion(did), this.global.orphans];
    const reply = asArray(await this.runner.run(readDeletionScript, source, [did]), 'migrate');
    const entry = asArray(reply[0], 'migrate').map(asString);
    const clientId = pairs(entry).get('clientId');
    if (clientId === undefined) return;
    this.summary.deletions += 1;
    if (this.dryRun) return;
    const orphan = Number(reply[1]) === 1 ? '1' : '0';
    const assigned = asString(reply[2]);
    const target = this.parts[partitionOf(clientId, this.partitions)] as ClusterKeys;
    await this.runner.run(
      writeDeletionScript,
      [target.deletion(did), target.orphans],
      [did, JSON.stringify(entry), orphan, assigned],
    );
    await this.runner.run(dropDeletionScript, source, [did, assigned]);
  }

  /**
   * What an index key of `{prefix}` still holds once every client and deletion moved: entries
   * naming none. A client id goes to its partition's same index; a deletion id (its entry gone,
   * so its partition unknown) is dropped, as the reap drops an orphan without an entry.
   */
  private async moveStrays(name: string): Promise<void> {
    const key = `${this.global.tag}:${name}`;
    if (name === 'deadlines') {
      const entries = asArray(
        await this.runner.command(['ZRANGE', key, '0', '-1', 'WITHSCORES'], 'migrate'),
        'migrate',
      );
      for (let i = 0; i + 1 < entries.length; i += 2) {
        const id = asString(entries[i]);
        const target = this.parts[partitionOf(id, this.partitions)] as ClusterKeys;
        await this.runner.command(['ZADD', target.deadlines, asString(entries[i + 1]), id], 'migrate');
        this.summary.strays += 1;
      }
    } else if (CLIENT_SETS.test(name)) {
      for (const id of asArray(await this.runner.command(['SMEMBERS', key], 'migrate'), 'migrate').map(asString)) {
        const target = this.parts[partitionOf(id, this.partitions)] as ClusterKeys;
        await this.runner.command(['SADD', `${target.tag}:${name}`, id], 'migrate');
        this.summary.strays += 1;
      }
    } else if (DELETION_SETS.test(name)) {
      this.summary.strays += Number(await this.runner.command(['SCARD', key], 'migrate'));
    }
    await this.runner.command(['DEL', key], 'migrate');
  }
}
