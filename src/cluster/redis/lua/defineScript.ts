import { createHash } from 'node:crypto';
import { type FragmentName, fragments, resolveFragments } from './fragments.js';

/** A script as written: its contract (the header of its source), the fragments it calls, its body. */
export interface ScriptSpec {
  /** Its name (for errors and counters). */
  name: string;
  /** What it does, as prose. */
  does: string;
  /** What each of `KEYS` is (a script builds its other keys from `ARGV[1]`, the prefix). */
  keys: readonly string[];
  /** What each argument after `ARGV[1]` (the prefix, always first) is: `ARGV[2]` first. */
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
}

/** One Lua script: its name, full source and SHA1 (for EVALSHA), and the fragments its source holds. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
  readonly fragments: readonly FragmentName[];
  readonly body: string;
  /** Whether it raises the write counter and answers `{writes, reply}` (every script but the reads). */
  readonly writes: boolean;
}

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
    '    ARGV[1] the key prefix with its hash tag ({sup}): every other key is built from it',
    ...spec.argv.map((arg, i) => wrap(`ARGV[${i + 2}] ${arg}`, '    ')),
    '  Output:',
    wrap(spec.reply, '    '),
    `  Fragments: ${included.join(', ')}`,
  ].join('\n');
  if (text.includes(']]')) throw new Error(`the header of Lua script ${spec.name} must not contain ]]`);
  return `--[[ ${text}\n]]`;
}

/**
 * A script's source: its header (the first comment); one line declaring every local its fragments
 * assign; its body, as the function `main`; only the fragments it uses, which assign those locals;
 * then `return main()`, or for a script that writes `return {bump(), main()}` (the write counter,
 * raised before the body runs, then the body's reply). So the body comes
 * right after the header, and a Redis error's line number is the body's own plus the header's
 * length and two. The SHA1 is computed here, as Redis would.
 */
export function defineScript(spec: ScriptSpec): LuaScript {
  const writes = spec.readOnly !== true;
  const included = resolveFragments(writes ? [...spec.uses, 'writes'] : spec.uses);
  const body = spec.body.trim();
  const locals = included.flatMap((name) => fragments[name].provides);
  const source = [
    header(spec, included),
    `local ${locals.join(', ')}`,
    'local function main()',
    body,
    'end',
    ...included.map((name) => fragments[name].source),
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
}
