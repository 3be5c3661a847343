import { SupervisorError } from '../../core/errors.js';
import {
  type CommandSender,
  CommandTimeout,
  clientKind,
  commandSender,
  NOT_RUN,
  STOPPED_BEFORE_WRITING,
  type NodeRedisClient,
  toUnavailable,
} from './connection.js';
import type { BuiltScript } from './lua/defineScript.js';
import { backoff, sleep } from './retry.js';

/**
 * Runs the Lua scripts with EVALSHA, falling back to EVAL when Redis answers NOSCRIPT (after a
 * restart, SCRIPT FLUSH, a failover to a replica or a slot moved to another master: the script
 * cache is per node and not replicated; the script did not run, so sending it again is safe), and
 * counts every command sent (`roundTrips`), which is how the tests measure a handshake's cost.
 *
 * On a Redis Cluster each command goes to the master of its first key's slot (every key of a
 * cluster shares the slot of `{prefix}`). A reply for which the command did not run (`TRYAGAIN`
 * while a slot's keys are split between two masters, `CLUSTERDOWN`, a `MOVED` or `ASK` the
 * client did not follow) is sent again after a {@link backoff}, for as long as `commandTimeout`
 * allows, then answers `UNAVAILABLE`; safe for every script, `claim` included, since none ran.
 */
export class ScriptRunner {
  /** Commands sent to Redis so far (each one a round-trip; auto-pipelined ones share the wire). */
  roundTrips = 0;
  private readonly sender: CommandSender;
  private readonly single: boolean;

  constructor(
    client: NodeRedisClient,
    private readonly commandTimeout: number,
  ) {
    this.sender = commandSender(client);
    this.single = clientKind(client) === 'single';
  }

  /** SCRIPT LOAD each script (on a cluster client: on every master), so the first handshake costs one round-trip. */
  async load(scripts: readonly BuiltScript[]): Promise<void> {
    await Promise.all(scripts.map((script) => this.send(['SCRIPT', 'LOAD', script.source], undefined, 'SCRIPT LOAD')));
  }

  async run(script: BuiltScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(['EVALSHA', script.sha, ...tail], keys[0], script.name);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.send(['EVAL', script.source, ...tail], keys[0], script.name);
    }
  }

  /** One plain command (reads that need no script), routed by its first key (`args[1]`). */
  command(args: readonly string[], what: string): Promise<unknown> {
    return this.send(args, args[1], what);
  }

  private async send(args: readonly string[], key: string | undefined, what: string): Promise<unknown> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once([...args], key);
      } catch (error) {
        if (!notRun(error)) throw toUnavailable(error, what);
        if (this.single && /^(MOVED|ASK)\b/.test(error.message)) throw wrongNode(error, what);
        const delay = backoff(attempt, { first: 10, max: 200 });
        if (Date.now() + delay - started >= this.commandTimeout) throw toUnavailable(error, what);
        await sleep(delay);
      }
    }
  }

  private async once(args: string[], key: string | undefined): Promise<unknown> {
    this.roundTrips += 1;
    let timer: NodeJS.Timeout | undefined;
    // node-redis stops timing a command once it is written, so a Redis that stopped answering
    // (paused, or a dead peer TCP has not noticed) would hold the caller forever
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CommandTimeout(`no answer within ${this.commandTimeout} ms`)),
        this.commandTimeout,
      );
      timer.unref();
    });
    const reply = this.sender(args, key);
    // once the deadline has won, a late rejection (the socket closing) must not go unhandled
    reply.catch(() => {});
    try {
      return await Promise.race([reply, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Redis did not run the command: a reply of {@link NOT_RUN}, a script stopped on a key it
 * discovered mid-migration before its first write ({@link STOPPED_BEFORE_WRITING}), or a cluster
 * client that stopped following redirects (the slot bounced between two masters for a moment,
 * mid-move), or a command node-redis refused to send while its connection to that node is down (a
 * master failing over: sent again once node-redis reaches the node that serves the slot).
 */
function notRun(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  return (
    NOT_RUN.test(error.message) ||
    STOPPED_BEFORE_WRITING.test(error.message) ||
    (error.constructor?.name ?? error.name) === 'MaxCommandRedirectionsError' ||
    // node-redis refused to queue it: the connection to that node is down (no offline queue)
    (error.constructor?.name ?? error.name) === 'ClientOfflineError'
  );
}

/** A single client's URL names one master of a Redis Cluster, and not the one that owns the slot. */
function wrongNode(error: Error, what: string): SupervisorError {
  return new SupervisorError(
    'INVALID_ARGUMENT',
    `socket.io-supervisor/cluster: option \`redis\` is one node of a Redis Cluster that does not hold these keys (${what}: ${error.message}); pass a node-redis createCluster() client instead of a URL or createClient() (see docs/cluster.md, "Running on Redis Cluster / Sentinel")`,
    { cause: error },
  );
}
