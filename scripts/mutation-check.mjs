// Deliberately breaks the machines, one mutation at a time, in a throwaway git worktree, and
// checks that the model-based and property tests (test/model) catch each one, or else the
// machines' own cell, routing, race and batching tests.
//   node scripts/mutation-check.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLIENT = 'src/machines/client.machine.ts';
const SUPERVISOR = 'src/machines/supervisor.machine.ts';
const RELAY = 'src/core/lifecycleRelay.ts';
const SNAPSHOT = 'src/machines/clientSnapshot.ts';
const STORE = 'src/store/memoryStore.ts';
const DEADLINES = 'src/store/deadlineIndex.ts';
const mutations = [
  [
    'no stale-socket guard: any disconnect drops the client',
    CLIENT,
    'isCurrentSocket: ({ context, event }) => eventSocket(event) === context.socketId,',
    "isCurrentSocket: ({ context, event }) => event.type === 'socket.disconnect' || eventSocket(event) === context.socketId,",
  ],
  [
    'prune ignores the deadline',
    CLIENT,
    "event.type === 'client.prune' && context.expiresAt !== null && event.now >= context.expiresAt,",
    "event.type === 'client.prune',",
  ],
  [
    'prune is one millisecond late (> instead of >=)',
    CLIENT,
    'event.now >= context.expiresAt',
    'event.now > context.expiresAt',
  ],
  [
    'no generation guard on timeouts',
    CLIENT,
    "event.type === 'client.timeout' && event.generation === context.generation,",
    "event.type === 'client.timeout',",
  ],
  [
    'onDelete hook runs twice',
    RELAY,
    'target.runHooks(event, target.toView(record), committed, store.hookContext?.(record, event));',
    "target.runHooks(event, target.toView(record), committed, store.hookContext?.(record, event));\n      if (event.type === 'deleted') target.runHooks(event, target.toView(record), committed, undefined);",
  ],
  [
    'the deadline is kept once the client is connected again',
    STORE,
    "if (record.expiresAt === null || record.state === 'connected' || record.state === 'deleted') {",
    "if (record.state === 'deleted') {",
  ],
  [
    'events for deleted ids reported as unknown-client',
    SUPERVISOR,
    "{ guard: 'isDeleted', actions: { type: 'ignore', params: { why: 'already-deleted' } } },",
    "{ guard: 'isDeleted', actions: { type: 'ignore', params: { why: 'unknown-client' } } },",
  ],
  [
    'socket swap keeps the old socket',
    CLIENT,
    "{ actions: ['emitSocketReplaced', 'attachSocket'] },",
    "{ actions: ['emitSocketReplaced'] },",
  ],
  [
    'close() deletes only the first batch of clients',
    SUPERVISOR,
    "if (batch.length === SEND_BATCH) enqueue.sendTo(self, { type: 'supervisor.close' });",
    '',
  ],
  [
    'a mass expiry stops after one batch',
    SUPERVISOR,
    "if (due.length === SEND_BATCH) enqueue.sendTo(self, { type: 'clock.tick' });\n      else ",
    '',
  ],
  ['a passivated client forgets its socket', SNAPSHOT, '    socketId: compact.socketId,\n', '    socketId: null,\n'],
  [
    'a passivated client forgets its deadline generation',
    SNAPSHOT,
    '    generation: compact.generation,\n',
    '    generation: 0,\n',
  ],
  [
    'a client that reached deleted still counts as live',
    STORE,
    "if (record) return record.state === 'deleted' ? 'deleted' : 'live';",
    "if (record) return 'live';",
  ],
  [
    'deadlines kept in insertion order, not by time',
    DEADLINES,
    '      if (parent.at <= entry.at) break;',
    '      if (parent.at <= entry.at || true) break;',
  ],
];

const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
const dir = join(tmpdir(), `mutation-check-${process.pid}`);
execFileSync('git', ['worktree', 'add', '--detach', dir, 'HEAD'], { cwd: root, stdio: 'ignore' });
symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
let survived = 0;
try {
  for (const [name, file, from, to] of mutations) {
    const path = join(dir, file);
    const original = readFileSync(path, 'utf8');
    if (!original.includes(from)) throw new Error(`mutation "${name}" no longer applies to ${file}`);
    writeFileSync(path, original.replace(from, to));
    // the model-based and property tests first; the machine's own cell tests as a second line
    const failing = (files) => {
      const run = spawnSync('npx', ['vitest', 'run', ...files, '--reporter=dot'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      });
      const text = run.stdout;
      return run.status === 0 ? 0 : Number(/Tests\s+(\d+) failed/.exec(text)?.[1] ?? 1);
    };
    const byModel = failing(['test/model']);
    const byCells = failing([
      'test/client.machine.test.ts',
      'test/supervisor.routing.test.ts',
      'test/races.test.ts',
      'test/batching.test.ts',
      'test/passivation.test.ts',
      'test/deadlines.test.ts',
      'test/hardening.core.test.ts',
    ]);
    writeFileSync(path, original);
    if (byModel === 0 && byCells === 0) survived += 1;
    const verdict = byModel > 0 ? 'caught  ' : byCells > 0 ? 'cells   ' : 'SURVIVED';
    console.log(`${verdict}  ${name}  (model/property tests failing: ${byModel}, cell tests failing: ${byCells})`);
  }
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  survived === 0
    ? `all ${mutations.length} mutations caught ('cells': only by the machine's own cell tests)`
    : `${survived} mutation(s) survived`,
);
process.exit(survived === 0 ? 0 : 1);
