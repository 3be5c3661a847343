import { createHash } from 'node:crypto';
import { type FragmentName, fragments, resolveFragments } from './fragments.js';

/** A script as written: its contract (the header of its source), the fragments it calls, its body. */
export interface ScriptSpec {
  /** Its name (for errors and counters). */
  name: string;
  /** What it does, as prose. */
  does: string;
  /**
   * What each of `KEYS` is: every key the script may touch, in the order the store passes them
   * (`keys.ts`), but those it can only name from what it reads, which it `discover`s (say which).
   */
  keys: readonly string[];
  /** What each of `ARGV` is, `ARGV[1]` first. */
  argv: readonly string[];
  /** What it answers. */
  reply: string;
  /** The fragments its body calls (those they call in turn are added). */
  uses: readonly FragmentName[];
  body: string;
  /**
   * A read: it writes nothing, so it does not raise the write counter. Every other script does,
   * before its body runs (the `writes` fragment), and answers `{writes, reply}`: the counter, then
   * what its body returns (the store unwraps it, and remembers the highest counter it saw).
   */
  readOnly?: boolean;
  /**
   * A script that writes without raising the write counter (nor answering it): one whose writes a
   * rollback may undo harmlessly (`hookRan`: a due mark cleared again at worst).
   */
  uncounted?: boolean;
  /**
   * Its keys may be in several slots of one Redis Cluster master (`#!lua
   * flags=allow-cross-slot-keys`, Redis 7): several partitions' keys in one call. The store groups
   * them by master; a slot that moved meanwhile fails the call, which is then not run.
   */
  crossSlot?: boolean;
}

/** One Lua script as Redis runs it: its name, full source and SHA1 (for EVALSHA), the fragments its source holds. */
export interface BuiltScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
  readonly fragments: readonly FragmentName[];
  readonly body: string;
  /** Whether it raises the write counter and answers `{writes, reply}` (every script but the reads). */
  readonly writes: boolean;
}

/** One Lua script, and its test build. */
export interface LuaScript extends BuiltScript {
  /**
   * The same script in the test build: a prelude checks that every key each command touches is
   * in `KEYS` or `discover`ed before the first write, and fails the script otherwise (see
   * {@link KEY_CHECK_ENV}).
   */
  readonly checked: BuiltScript;
}

/**
 * The environment variable that makes a store run the test build of the scripts (`'1'`): set by
 * the test suite (vitest.config.ts), never in production. It costs a Lua call per command.
 */
export const KEY_CHECK_ENV = 'SOCKET_IO_SUPERVISOR_KEY_CHECK';

/** The first comment of a script's source: its contract, as BullMQ heads its scripts. */
function header(spec: ScriptSpec, included: readonly FragmentName[]): string {
  const wrap = (text: string, indent: string) => {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(/\s+/).filter(Boolean)) {
      if (line !== '' && indent.length + line.length + word.length + 1 > 100) {
        lines.push(indent + line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    if (line !== '') lines.push(indent + line);
    return lines.join('\n');
  };
  const text = [
    `socket.io-supervisor cluster: ${spec.name}`,
    wrap(spec.does, '  '),
    '  Input:',
    ...spec.keys.map((key, i) => wrap(`KEYS[${i + 1}] ${key}`, '    ')),
    ...spec.argv.map((arg, i) => wrap(`ARGV[${i + 1}] ${arg}`, '    ')),
    '  Output:',
    wrap(spec.reply, '    '),
    `  Fragments: ${included.join(', ')}`,
  ].join('\n');
  if (text.includes(']]')) throw new Error(`the header of Lua script ${spec.name} must not contain ]]`);
  return `--[[ ${text}\n]]`;
}

/**
 * The prelude of the test build: `redis.call` and `redis.pcall` shadowed by a check that the key
 * arguments of the command (the first; every one of DEL, EXISTS, SDIFF, SUNIONSTORE, SDIFFSTORE; none of
 * TIME, SPUBLISH, INFO, CLUSTER (MYID only): a channel is not a key, though on a Redis Cluster a
 * shard channel must be in the script's slot, which Redis itself checks) are in `KEYS` or were `discover`ed, and that nothing was `discover`ed after a
 * write (the write counter's `HINCRBY` excepted). A command it does not know fails too, so a new
 * one is added here with its keys. Errors name the script, the command and the key.
 */
function keyCheck(name: string): string {
  const words = (list: string) =>
    `{${list
      .split(' ')
      .map((c) => `${c} = true`)
      .join(', ')}}`;
  const first =
    'HGET HSET HMGET HDEL HINCRBY HEXISTS SADD SREM SPOP SCARD SMEMBERS SISMEMBER SRANDMEMBER SSCAN ZADD ZREM ZRANGE ZRANGEBYSCORE ZREMRANGEBYSCORE ZSCORE ZCARD GET SET PEXPIRE PERSIST INCR';
  const writes =
    'HSET HDEL HINCRBY SADD SREM SPOP ZADD ZREM ZREMRANGEBYSCORE DEL SET PEXPIRE PERSIST INCR SUNIONSTORE SDIFFSTORE';
  return `local KEYCHECK
local redis = (function(R)
  local name, declared, wrote = '${name}', {}, false
  for _, key in ipairs(KEYS) do declared[key] = true end
  local ALL, NONE = ${words('DEL EXISTS SUNIONSTORE SDIFFSTORE SDIFF')}, ${words('TIME SPUBLISH INFO CLUSTER')}
  local FIRST, WRITES = ${words(first)}, ${words(writes)}
  local function check(cmd, ...)
    local c, args = string.upper(cmd), {...}
    local keys = {}
    if ALL[c] then keys = args elseif FIRST[c] then keys = {args[1]} elseif not NONE[c] then
      error('key check: script ' .. name .. ' sends ' .. c .. ', a command whose keys the check does not know')
    end
    for _, key in ipairs(keys) do
      if not declared[key] then
        error('key check: script ' .. name .. ' touches ' .. tostring(key) .. ' (' .. c .. '), a key not in KEYS nor discovered')
      end
    end
    if WRITES[c] and not (c == 'HINCRBY' and args[2] == 'writes') then wrote = true end
  end
  KEYCHECK = {discover = function(key)
    if wrote then error('key check: script ' .. name .. ' discovers ' .. key .. ' after a write') end
    declared[key] = true
  end}
  return setmetatable({
    call = function(cmd, ...) check(cmd, ...) return R.call(cmd, ...) end,
    pcall = function(cmd, ...) check(cmd, ...) return R.pcall(cmd, ...) end,
  }, {__index = R})
end)(redis)`;
}

/** `#!lua` and the script's flags: `no-writes` for a read, `allow-cross-slot-keys` for one that spans partitions. */
function shebang(spec: ScriptSpec): string {
  const flags = [
    ...(spec.readOnly === true ? ['no-writes'] : []),
    ...(spec.crossSlot === true ? ['allow-cross-slot-keys'] : []),
  ];
  return flags.length === 0 ? '#!lua' : `#!lua flags=${flags.join(',')}`;
}

/**
 * A script's source: `#!lua` (Redis 7: a key of another slot fails at once; `flags=no-writes` for
 * a read, which a replica may run); its header (the first comment); in the test build only, the
 * key check's prelude; one line declaring every local its fragments assign; its body, as the
 * function `main`; only the fragments it uses, which assign those locals; then `return main()`,
 * or for a script that writes `return {bump(), main()}` (the write counter, raised before the
 * body runs, then the body's reply). So the body comes right after the header, and a Redis
 * error's line number is the body's own plus the header's length and three. The SHA1 is computed
 * here, as Redis would.
 */
export function defineScript(spec: ScriptSpec): LuaScript {
  const writes = spec.readOnly !== true && spec.uncounted !== true;
  const included = resolveFragments(writes ? [...spec.uses, 'writes'] : spec.uses);
  const body = spec.body.trim();
  const locals = included.flatMap((name) => fragments[name].provides);
  const build = (checked: boolean): BuiltScript => {
    const source = [
      shebang(spec),
      header(spec, included),
      ...(checked ? [keyCheck(spec.name)] : []),
      `local ${locals.join(', ')}`,
      'local function main()',
      body,
      'end',
      ...included.map((name) =>
        checked ? (fragments[name].checked ?? fragments[name].source) : fragments[name].source,
      ),
      writes ? 'return {bump(), main()}' : 'return main()',
      '',
    ].join('\n');
    return {
      name: spec.name,
      source,
      sha: createHash('sha1').update(source).digest('hex'),
      fragments: included,
      body,
      writes,
    };
  };
  return { ...build(false), checked: build(true) };
}
