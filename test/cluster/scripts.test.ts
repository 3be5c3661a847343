import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { defineScript } from '../../src/cluster/redis/lua/defineScript.js';
import { clusterKeys, KEY_TABLE, scriptKeys } from '../../src/cluster/redis/keys.js';
import { FRAGMENT_ORDER, fragments } from '../../src/cluster/redis/lua/fragments.js';
import { KEY_CHECK_ENV, SCRIPTS } from '../../src/cluster/redis/lua/index.js';
import { startRedisServer } from './redisServer.js';

// The scripts as written (issue 18, item 6), checked without Redis: each one's source is its
// contract, then only the fragments it needs, then its body; every key it builds is in the key table.

/** Lua source without comments and string literals (names inside them are not uses). */
const code = (lua: string) =>
  lua
    .replace(/--\[\[[\s\S]*?\]\]/g, '')
    .replace(/--[^\n]*/g, '')
    .replace(/'(?:[^'\\]|\\.)*'/g, "''")
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');

const uses = (lua: string, name: string) => new RegExp(`(?<![\\w.])${name}(?!\\w)`).test(code(lua));

/** The local each fragment defines, by name. */
const provider = new Map(FRAGMENT_ORDER.flatMap((name) => fragments[name].provides.map((local) => [local, name])));

describe('the Lua scripts', () => {
  it('should define each fragment after the ones it uses, and only what it says it provides', () => {
    for (const [index, name] of FRAGMENT_ORDER.entries()) {
      for (const dependency of fragments[name].uses) {
        expect(FRAGMENT_ORDER.indexOf(dependency as never), `${name} uses ${dependency}`).toBeLessThan(index);
      }
      for (const local of fragments[name].provides) {
        // assigned, not declared: the script declares every one on its first line
        expect(code(fragments[name].source), `${name} provides ${local}`).toMatch(new RegExp(`^${local} = `, 'm'));
        expect(code(fragments[name].source), `${name} declares ${local}`).not.toMatch(new RegExp(`local ${local}\\b`));
      }
      // what a fragment calls of another, it declares
      const called = [...provider].filter(([local, from]) => from !== name && uses(fragments[name].source, local));
      for (const [local, from] of called) expect(fragments[name].uses, `${name} calls ${local}`).toContain(from);
    }
  });

  it('should hold in each script exactly the fragments its body and those fragments call', () => {
    expect(Object.keys(SCRIPTS).length).toBe(24);
    for (const script of Object.values(SCRIPTS)) {
      // a script that writes raises the write counter (`bump()`, added after its body)
      const needed = new Set<string>(script.writes ? ['key', 'writes'] : ['key']);
      const visit = (lua: string) => {
        for (const [local, from] of provider) {
          if (!needed.has(from) && uses(lua, local)) {
            needed.add(from);
            visit(fragments[from as keyof typeof fragments].source);
          }
        }
      };
      visit(script.body);
      expect([...script.fragments].sort(), script.name).toEqual([...needed].sort());
      // and in the order they are defined, each once
      expect(script.fragments, script.name).toEqual(FRAGMENT_ORDER.filter((name) => needed.has(name)));
    }
  });

  it("should start each script's source with #!lua, then its contract: what it does, KEYS, ARGV, the reply", () => {
    for (const script of Object.values(SCRIPTS)) {
      const [header] = script.source.split('\n]]\n');
      // Redis 7: a key of another slot fails at once; a read may run on a replica; the one
      // uncounted write (hookRan) takes the clients of every partition a master serves at once
      const shebang = script.writes
        ? '#!lua'
        : script.name === 'hookRan'
          ? '#!lua flags=allow-cross-slot-keys'
          : script.name === 'partitions'
            ? '#!lua flags=no-writes,allow-cross-slot-keys'
            : '#!lua flags=no-writes';
      expect(
        script.source.startsWith(`${shebang}\n--[[ socket.io-supervisor cluster: ${script.name}\n`),
        script.name,
      ).toBe(true);
      expect(script.checked.source.split('\n')[0], script.name).toBe(shebang);
      // no prefix to build keys from: every key is in KEYS, or discovered
      expect(header, script.name).toMatch(/\n {2}Input:\n {4}KEYS\[1\] .+\n/);
      expect(header, script.name).not.toMatch(/prefix/);
      expect(header, script.name).toMatch(/\n {2}Output:\n {4}\S/);
      // every ARGV the body reads is described (the variable ones, owned's and restore's, by their last)
      const read = [...script.body.matchAll(/ARGV\[(\d+)\]/g)].map((m) => Number(m[1]));
      const described = [...header!.matchAll(/ARGV\[(\d+)\]/g)].map((m) => Number(m[1]));
      expect(Math.max(...read), script.name).toBeLessThanOrEqual(Math.max(...described));
      const keys = [...script.body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
      for (const key of keys) expect(header, script.name).toContain(`KEYS[${key}] `);
    }
  });

  it('should put each body right after its header, so Redis error lines are its own plus the header', () => {
    for (const script of Object.values(SCRIPTS)) {
      const lines = script.source.split('\n');
      const headerLines = script.source.split('\n]]\n')[0]!.split('\n').length + 1;
      expect(lines.indexOf(script.body.split('\n')[0]!), script.name).toBe(headerLines + 2);
      expect(lines[headerLines], script.name).toMatch(/^local [\w, ]+$/);
      // a script that writes answers the write counter, raised first, with its body's reply
      expect(lines.at(-2), script.name).toBe(script.writes ? 'return {bump(), main()}' : 'return main()');
    }
    // the smallest scripts carry almost nothing: the old prelude alone was 142 lines
    expect(SCRIPTS.counts.source.split('\n').length).toBeLessThan(25);
  });
});

describe("a script's errors in Redis", () => {
  it("should name the body's own line, offset only by the header and two lines", async () => {
    const failing = defineScript({
      name: 'failing',
      does: 'fails on the third line of its body, after using fragments',
      keys: ['any key'],
      argv: [],
      reply: 'an error',
      uses: ['read', 'tick', 'deleteClient'],
      body: "local a = read(KEYS[1])\nlocal b = s(nowMs)\nerror('boom')",
    });
    const headerLines = failing.source.split('\n]]\n')[0]!.split('\n').length + 1;
    const server = await startRedisServer();
    const client = createClient({ url: server.url });
    try {
      await client.connect();
      const error = await client.sendCommand(['EVAL', failing.source, '1', '{p}:x', '{p}']).catch((e: Error) => e);
      expect(String((error as Error).message)).toContain(`user_script:${headerLines + 2 + 3}: boom`);
    } finally {
      client.destroy();
      await server.dispose();
    }
  });
});

describe('the key table', () => {
  /** The first segment of each key pattern: what `k('c', id)` starts with. */
  const segments = new Set(Object.values(KEY_TABLE).map(({ pattern }) => pattern.split(':')[0]!));

  it('should name every key and channel a script builds', () => {
    const built = new Set<string>();
    for (const lua of [
      ...Object.values(SCRIPTS).map((s) => s.body),
      ...FRAGMENT_ORDER.map((n) => fragments[n].source),
    ]) {
      for (const match of lua.matchAll(/\bk\('([a-z]+)'/g)) built.add(match[1]!);
    }
    expect(built.size).toBeGreaterThan(10);
    expect([...built].filter((segment) => !segments.has(segment))).toEqual([]);
    // and every entry of the table is built somewhere
    expect([...segments].filter((segment) => !built.has(segment))).toEqual([]);
  });

  it("should give the store's key builders the table's patterns", () => {
    const keys = clusterKeys('p');
    const built = [
      keys.client('ID'),
      keys.data('ID'),
      keys.tombstone('ID'),
      keys.outbox('ID'),
      keys.emitIds('ID'),
      keys.deletion('DID'),
      keys.deletions('NODE', 'INC'),
      keys.owned('NODE', 'INC'),
      keys.node('NODE'),
      ...keys.states,
      keys.deadlines,
      keys.nodes,
      keys.meta,
      keys.reaping,
      keys.orphans,
      keys.unheld,
      keys.notices('NODE'),
      keys.watch('ID'),
    ];
    const patterns = Object.values(KEY_TABLE).flatMap(({ pattern }) => {
      const key = `{p}:${pattern}`
        .replace('<clientId>', 'ID')
        .replace('<deletionId>', 'DID')
        .replace('<node>', 'NODE')
        .replace('<inc>', 'INC');
      return key.includes('<state>')
        ? ['handshaking', 'connected', 'disconnected'].map((state) => key.replace('<state>', state))
        : [key];
    });
    for (const key of built) expect(patterns, key).toContain(key);
  });

  it('should pass each script as many KEYS as its header lists (a list at the end: any number)', () => {
    const keys = scriptKeys(clusterKeys('p'));
    const built: Record<keyof typeof SCRIPTS, string[]> = {
      join: keys.join('N'),
      heartbeat: keys.heartbeat('N'),
      reap: keys.reap('N', '1'),
      leave: keys.leave('N', '1'),
      member: keys.member([]),
      partitions: keys.partitions(),
      register: keys.register('C', 'N', '1'),
      claim: keys.claim('C', 'N', '1'),
      disconnect: keys.disconnect('C', 'N'),
      hookRan: keys.hookRan(['C']),
      delete: keys.delete('C', 'D', 'N', '1'),
      emit: keys.delete('C', 'D', 'N', '1'),
      completeDeletion: keys.completeDeletion('D', 'N', '1'),
      pendingDeletions: keys.pendingDeletions('N', '1'),
      sweep: keys.sweep('N', '1'),
      restore: keys.restore('C', 'N', '1'),
      writeBack: keys.writeBack('N', []),
      get: keys.get('C'),
      list: keys.list('N'),
      counts: keys.counts(),
      nodes: keys.nodes(),
      owned: keys.owned([]),
      ack: keys.ack('C'),
      outbox: keys.outbox('C'),
    };
    for (const [name, script] of Object.entries(SCRIPTS)) {
      const header = script.source.split('\n]]\n')[0]!;
      const described = [...header.matchAll(/KEYS\[\d+\] (.*)/g)].map((m) => m[1]!);
      // "three keys" / "two keys" describe that many
      const count = described.reduce(
        (n, text) => n + (/, three keys/.test(text) ? 3 : /, two keys/.test(text) ? 2 : 1),
        0,
      );
      const variable = described.some((text) => text.startsWith('...'));
      const passed = built[name as keyof typeof SCRIPTS];
      if (variable) expect(passed.length, name).toBe(count - 1);
      else expect(passed.length, name).toBe(count);
      for (const key of passed) expect(key.startsWith('{p}:'), `${name}: ${key}`).toBe(true);
    }
  });
});

describe('the key check of the test build', () => {
  const probe = defineScript({
    name: 'probe',
    does: 'reads, discovers and writes the keys its arguments name, in that order',
    keys: ['a declared key', 'the meta hash (its write counter)'],
    argv: ['a key it reads', 'a key it discovers', 'a key it writes', "'1': discover after the write"],
    reply: 'OK',
    uses: ['discover'],
    body: `if ARGV[4] ~= '1' then discover(ARGV[2]) end
redis.call('GET', ARGV[1])
redis.call('SET', ARGV[3], 'x')
if ARGV[4] == '1' then discover(ARGV[2]) end
return 'OK'`,
  });

  it('should be what this suite runs (vitest.config.ts)', () => {
    expect(process.env[KEY_CHECK_ENV]).toBe('1');
  });

  it('should fail a script on a key neither in KEYS nor discovered, or discovered after a write', async () => {
    const server = await startRedisServer();
    const client = createClient({ url: server.url });
    // a script that writes answers {writes, reply}
    const run = (script: { source: string }, argv: string[]) =>
      client
        .sendCommand(['EVAL', script.source, '2', '{p}:a', '{p}:meta', ...argv])
        .then((reply) => (reply as unknown as unknown[])[1])
        .catch((e: Error) => e.message);
    try {
      await client.connect();
      // declared, discovered before the write: both builds run it
      expect(await run(probe.checked, ['{p}:a', '{p}:b', '{p}:b', ''])).toBe('OK');
      expect(await run(probe, ['{p}:a', '{p}:b', '{p}:b', ''])).toBe('OK');
      // an undeclared key: read, or written
      expect(await run(probe.checked, ['{p}:x', '{p}:b', '{p}:a', ''])).toMatch(
        /key check: script probe touches \{p\}:x \(GET\), a key not in KEYS nor discovered/,
      );
      expect(await run(probe.checked, ['{p}:a', '{p}:b', '{p}:y', ''])).toMatch(/touches \{p\}:y \(SET\)/);
      // discovered once something was written: a stop there would leave the write behind
      expect(await run(probe.checked, ['{p}:a', '{p}:b', '{p}:a', '1'])).toMatch(
        /key check: script probe discovers \{p\}:b after a write/,
      );
      // the script as shipped does not check (Redis itself allows any key of the slot, finding 1)
      expect(await run(probe, ['{p}:x', '{p}:b', '{p}:y', ''])).toBe('OK');
      // every script of the store has its test build, under another SHA
      for (const script of Object.values(SCRIPTS)) {
        expect(script.checked.sha, script.name).not.toBe(script.sha);
        expect(script.checked.source, script.name).toContain(`local name, declared, wrote = '${script.name}'`);
      }
    } finally {
      client.destroy();
      await server.dispose();
    }
  });
});
