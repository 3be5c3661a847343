import { CommandTimeout, type NodeRedisClient, toUnavailable } from './connection.js';
import type { LuaScript } from './lua/defineScript.js';

/**
 * Runs the Lua scripts with EVALSHA, falling back to EVAL when Redis answers NOSCRIPT (after a
 * restart or SCRIPT FLUSH: the script did not run, so sending it again is safe), and counts
 * every command sent (`roundTrips`), which is how the tests measure a handshake's cost.
 */
export class ScriptRunner {
  /** Commands sent to Redis so far (each one a round-trip; auto-pipelined ones share the wire). */
  roundTrips = 0;

  constructor(
    private readonly client: NodeRedisClient,
    private readonly commandTimeout: number,
  ) {}

  /** SCRIPT LOAD each script, so the first handshake costs one round-trip. */
  async load(scripts: readonly LuaScript[]): Promise<void> {
    await Promise.all(scripts.map((script) => this.send(['SCRIPT', 'LOAD', script.source], 'SCRIPT LOAD')));
  }

  async run(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(['EVALSHA', script.sha, ...tail], script.name);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.send(['EVAL', script.source, ...tail], script.name);
    }
  }

  /** One plain command (reads that need no script). */
  command(args: readonly string[], what: string): Promise<unknown> {
    return this.send(args, what);
  }

  private async send(args: readonly string[], what: string): Promise<unknown> {
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
    const reply = this.client.sendCommand(args);
    // once the deadline has won, a late rejection (the socket closing) must not go unhandled
    reply.catch(() => {});
    try {
      return await Promise.race([reply, deadline]);
    } catch (error) {
      throw toUnavailable(error, what);
    } finally {
      clearTimeout(timer);
    }
  }
}
