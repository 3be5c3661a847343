import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/index.js';
import { createTestSupervisor, lifecyclePaths, recordingToTest } from '../../src/testing/index.js';

// recordingToTest(): a recorded client's history becomes a vitest file that replays it. The files
// are run by vitest itself, in a child process: every lifecycle path's history passes, a mutated
// history fails where it was changed.

const run = promisify(execFile);

/** The history of each lifecycle path's client, as the kit recorded it. */
async function pathHistories(): Promise<{ name: string; history: LifecycleEvent[] }[]> {
  const histories = [];
  for (const path of lifecyclePaths()) {
    const t = createTestSupervisor({ start: 1_700_000_000_000, reconnectTimeout: 2000, handshakeTimeout: 9000 });
    await path.run(t);
    histories.push({ name: path.name, history: [...t.clients()[0]!.events] });
  }
  return histories;
}

/** A history with a timer that fired late, a hostile tab id and reason, a hook error. */
async function incident(): Promise<LifecycleEvent[]> {
  const t = createTestSupervisor({
    start: 5000,
    reconnectTimeout: 1000,
    hookErrors: 'record',
    hooks: {
      onConnect(_client, { reconnect }) {
        if (reconnect) throw new Error('room gone\nfor good');
      },
    },
  });
  const c = t.client({ tabId: `it's "tab" \\ 1` });
  await t.advance(10);
  c.connect("s'1");
  await t.advance(20);
  c.disconnect(undefined, 'ping timeout');
  c.connect('s2');
  await t.settle();
  c.disconnect(undefined, "'); process.exit(0); ('" as never);
  t.stall(1500); // the event loop was blocked: the reconnect timer fires 500 ms late
  await t.advance(0);
  c.delete();
  return [...c.events];
}

/**
 * A page as the browser helper makes it: registered by the server without a tab id, the tab id
 * sent at every handshake; a reload in another tab takes the client over with another tab id
 * (a socket swap, whose event does not show it), the next reconnect shows it.
 */
async function tabs(): Promise<LifecycleEvent[]> {
  const t = createTestSupervisor({ start: 1000, reconnectTimeout: 2000 });
  const c = t.client();
  c.connect('s1', { tabId: 'tab-a' });
  await t.advance(100);
  c.disconnect();
  c.connect('s2', { tabId: 'tab-b' });
  await t.advance(100);
  c.connect('s3', { tabId: 'tab-c' });
  c.disconnect('s3', 'ping timeout');
  await t.advance(500);
  c.connect('s4', { tabId: 'tab-c' });
  await t.settle();
  c.delete('kicked');
  await t.settle();
  return [...c.events];
}

/**
 * Messages to a client that never acknowledged them: dropped with it when its grace period ends
 * (`undelivered` with the delete reason), then one sent to it once it is gone.
 */
async function undelivered(): Promise<LifecycleEvent[]> {
  const t = createTestSupervisor({ start: 0, reconnectTimeout: 1000 });
  const c = t.client({ tabId: 'tab-1' });
  t.supervisor.to(c.clientId).emit('note', 'before the socket');
  c.connect();
  t.supervisor.to(c.clientId).emit('note', 'while connected');
  c.disconnect();
  await t.advance(300);
  t.supervisor.to(c.clientId).emit('note', 'while away');
  await t.advance(1000);
  t.supervisor.to(c.clientId).emit('note', 'too late');
  await t.settle();
  return [...c.events];
}

/** A page that never acknowledges: its outbox overflows (1,001 messages, the default bound 1,000). */
async function overflow(): Promise<LifecycleEvent[]> {
  const t = createTestSupervisor({ start: 0 });
  const c = t.client();
  c.connect('s1', { tabId: 'tab-1' });
  for (let i = 0; i <= 1000; i++) t.supervisor.to(c.clientId).emit('tick', i);
  await t.settle();
  return [...c.events];
}

const kit = (dir: string) => relative(dir, resolve('src/testing/index.js')).replaceAll('\\', '/');

describe('recordingToTest', () => {
  it('should refuse a history it cannot replay faithfully', () => {
    const at = (n: number, clientId = 'a'): LifecycleEvent => ({
      type: 'registered',
      clientId,
      at: n,
      tabId: null,
      expiresAt: n + 10,
    });
    expect(() => recordingToTest([])).toThrow(/non-empty/);
    expect(() => recordingToTest([at(1), at(2, 'b')])).toThrow(/mixes clients/);
    expect(() => recordingToTest([at(2), at(1)])).toThrow(/in order/);
    expect(() => recordingToTest([at(Number.NaN)])).toThrow(/finite/);
    expect(() => recordingToTest([at(1)], { hooks: { from: './x.js', name: 'a-b' } })).toThrow(/identifier/);
    expect(() => recordingToTest([at(1)], { data: () => 1 })).toThrow(/cannot write function/);
  });

  it('should be pure and self-contained: code generation and replay, each importing only types and the other', () => {
    for (const [file, allowed] of [
      [
        'src/testing/recordingToTest.ts',
        ["import { planReplay, type ReplayCall, type ReplayPlan, type ReplayStep, storyOf } from './replayPlan.js';"],
      ],
      ['src/testing/replayPlan.ts', []],
    ] as const) {
      const source = readFileSync(file, 'utf8');
      const imports = source.split('\n').filter((line) => /^\s*(import|export)\b.*\bfrom\b/.test(line));
      expect(imports.length, file).toBeGreaterThan(0);
      expect(
        imports.filter((line) => !/^import type /.test(line)),
        file,
      ).toEqual(allowed);
      expect(source, file).not.toMatch(/\b(require|process|globalThis|window|document)\b|import\(/);
    }
  });

  it('should write a vitest file that passes for every recorded path, and fails where a history was changed', async () => {
    const dir = resolve('test-results', `export-as-test-${process.pid}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    try {
      const importFrom = kit(dir);
      /** Each file and what must become of it: pass, fail with this message, fail at this assertion. */
      const files = new Map<string, 'pass' | RegExp | { at: string }>();
      const write = (name: string, source: string, outcome: 'pass' | RegExp | { failsAt: string }) => {
        writeFileSync(join(dir, name), source);
        if (typeof outcome !== 'object' || outcome instanceof RegExp) {
          files.set(name, outcome);
          return;
        }
        // the line of the step's `expect(news())` whose expected events hold `failsAt`
        const lines = source.split('\n');
        const mutated = lines.findIndex((line) => line.includes(outcome.failsAt));
        const assertion = lines.slice(0, mutated).lastIndexOf('  expect(news()).toEqual({');
        expect(assertion, `${name}: ${outcome.failsAt}`).toBeGreaterThan(0);
        files.set(name, { at: `${name}:${assertion + 1}:` });
      };
      const histories = await pathHistories();
      for (const [i, { history }] of histories.entries()) {
        write(`path-${i}.test.ts`, recordingToTest(history, { importFrom }), 'pass');
        // the inspector keeps the recent events only: a history without its first ones replays too
        if (history.length > 3)
          write(`path-${i}-tail.test.ts`, recordingToTest(history.slice(2), { importFrom }), 'pass');
      }
      const recorded = await incident();
      write('incident.test.ts', recordingToTest(recorded, { importFrom, data: { user: 'ada' } }), 'pass');
      write('incident-tail.test.ts', recordingToTest(recorded.slice(4), { importFrom }), 'pass');

      // every field replayed: tab ids sent at handshakes, messages dropped with the client
      const tabbed = await tabs();
      expect(tabbed.filter((e) => e.type === 'registered')).toMatchObject([{ tabId: null }]);
      expect(tabbed.filter((e) => e.type === 'reconnected').map((e) => e.tabId)).toEqual(['tab-b', 'tab-c']);
      write('tabs.test.ts', recordingToTest(tabbed, { importFrom }), 'pass');
      write('tabs-tail.test.ts', recordingToTest(tabbed.slice(3), { importFrom }), 'pass');
      write(
        'mutated-tab.test.ts',
        recordingToTest(
          tabbed.map((e) => (e.type === 'reconnected' && e.tabId === 'tab-b' ? { ...e, tabId: null } : e)),
          { importFrom },
        ),
        // a client keeps its tab id once it has one: no handshake can take it back to none
        { failsAt: 'tabId: null, downtime: 0' },
      );
      const dropped = await undelivered();
      expect(dropped.filter((e) => e.type === 'undelivered')).toMatchObject([
        { count: 3, reason: 'reconnect-timeout' },
        { count: 1, reason: 'already-deleted' },
      ]);
      write('undelivered.test.ts', recordingToTest(dropped, { importFrom }), 'pass');
      const overflowed = await overflow();
      expect(overflowed.at(-1)).toMatchObject({ type: 'undelivered', count: 1001, reason: 'outbox-overflow' });
      write('overflow.test.ts', recordingToTest(overflowed, { importFrom }), 'pass');

      // the app's own hooks replayed along: the sample app's pass, its broken onDelete fails
      const swap = histories.find(
        (h) => h.name === 'registers, is deleted during its handshake, the server shuts down',
      )!;
      const from = relative(dir, resolve('test/testing/fixtures/presenceHooks.js'));
      write('hooks.test.ts', recordingToTest(swap.history, { importFrom, hooks: { from } }), 'pass');
      write(
        'hooks-broken.test.ts',
        recordingToTest(swap.history, { importFrom, hooks: { from, name: 'brokenHooks' } }),
        /onDelete of client .* failed: Cannot read properties of undefined/,
      );

      // mutations: a different `why`, a different `from`, a lost event
      const stale = histories.find((h) => h.name.startsWith("registers, connects, a stale socket's disconnect"))!;
      write(
        'mutated-why.test.ts',
        recordingToTest(
          stale.history.map((e) => (e.type === 'ignored' ? { ...e, why: 'replay' as const } : e)),
          { importFrom },
        ),
        { failsAt: "why: 'replay'" },
      );
      write(
        'mutated-from.test.ts',
        recordingToTest(
          stale.history.map((e) => (e.type === 'deleted' ? { ...e, from: 'disconnected' as const } : e)),
          { importFrom },
        ),
        { failsAt: "from: 'disconnected'" },
      );
      const back = histories.find(
        (h) => h.name === 'registers, connects, disconnects, reconnects, the server shuts down',
      )!;
      write(
        'mutated-lost-event.test.ts',
        recordingToTest(
          back.history.filter((e) => e.type !== 'disconnected'),
          { importFrom },
        ),
        // the reconnect it recorded is a socket swap without the disconnect before it
        { failsAt: "type: 'reconnected'" },
      );

      writeFileSync(join(dir, 'vitest.config.mjs'), "export default { test: { include: ['*.test.ts'] } };\n");
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
      const vitest = resolve('node_modules/vitest/vitest.mjs');
      await run(
        process.execPath,
        // one worker, one module graph for every file: the kit is imported once, not once per file
        [vitest, 'run', '--config', 'vitest.config.mjs', '--pool=threads', '--no-isolate', '--maxWorkers=1'].concat([
          '--reporter=json',
          '--outputFile=result.json',
        ]),
        { cwd: dir, env },
      ).catch(() => {}); // failing files are expected; the report says which
      const report = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as {
        testResults: { name: string; status: string; assertionResults: { failureMessages: string[] }[] }[];
      };
      const outcomes = Object.fromEntries(
        report.testResults.map((file) => [
          file.name.split('/').at(-1)!,
          file.status === 'passed' ? 'pass' : file.assertionResults.flatMap((a) => a.failureMessages).join('\n'),
        ]),
      );
      expect(Object.keys(outcomes).sort()).toEqual([...files.keys()].sort());
      for (const [name, outcome] of files) {
        if (outcome === 'pass') expect(outcomes[name], name).toBe('pass');
        else if (outcome instanceof RegExp) expect(outcomes[name], name).toMatch(outcome);
        else expect(outcomes[name], name).toContain(outcome.at);
      }
      process.stdout.write(`export as test: ${files.size} generated files run by vitest, as expected\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
