import { describe, expect, it } from 'vitest';
import type { LogEntry } from './procs/cluster.js';
import { checkInvariants } from './procs/invariants.js';

// The invariants added for issue 19 (ownership hooks paired per node, nothing served outside a
// lease), on hand-written logs: each one passes a log that keeps it and names what a log that
// breaks it did, so the checks the fault tests and the soak rely on can fail.

let clock = 1000;
function line(node: string, pid: number, inc: number, fields: Partial<LogEntry>): LogEntry {
  clock += 10;
  return { t: clock, node, pid, inc, kind: 'cluster', ...fields } as LogEntry;
}
const started = (node: string, pid: number, inc = 1) => line(node, pid, inc, { type: 'started' });
const echo = (node: string, pid: number, inc: number, clientId: string) =>
  line(node, pid, inc, { kind: 'app', type: 'echo', clientId, socketId: `s-${clientId}` });
const acquire = (node: string, pid: number, clientId: string) =>
  line(node, pid, 1, { kind: 'ownership', hook: 'onAcquire', clientId, phase: 'start' });
const release = (node: string, pid: number, clientId: string, why = 'handoff') =>
  line(node, pid, 1, { kind: 'ownership', hook: 'onRelease', clientId, why, phase: 'start' });

describe('cluster invariants: ownership hooks', () => {
  it('should accept onAcquire and onRelease alternating per node process and client', () => {
    const log = [
      started('n1', 1),
      acquire('n1', 1, 'a'),
      release('n1', 1, 'a', 'handoff'),
      acquire('n1', 1, 'a'),
      release('n1', 1, 'a', 'deleted'),
      started('n2', 2),
      acquire('n2', 2, 'a'),
      release('n2', 2, 'a', 'lease-lost'),
    ];
    expect(checkInvariants(log, { quiescent: true })).toMatchObject({ violations: [], acquires: 3, releases: 3 });
  });

  it('should name a double acquire, a release of nothing, an unknown why and what a closed or resting process kept', () => {
    const log = [
      started('n1', 1),
      acquire('n1', 1, 'a'),
      acquire('n1', 1, 'a'),
      release('n1', 1, 'b'),
      release('n1', 1, 'a', 'because'),
      acquire('n1', 1, 'c'),
      line('n1', 1, 1, { type: 'closed' }),
      started('n2', 2),
      acquire('n2', 2, 'd'),
    ];
    expect(checkInvariants(log, { quiescent: true }).violations).toEqual([
      'client a: onAcquire twice on n1#1 without onRelease',
      'client b: onRelease on n1#1 without onAcquire',
      'client a: onRelease on n1#1 with an unknown why because',
      'client c: acquired on n1#1 and never released (closed)',
      'client d: acquired on n2#2 and never released (at rest)',
    ]);
    // not at rest yet: a running process may hold clients
    expect(checkInvariants(log).violations).toHaveLength(4);
  });

  it('should let a process killed with -9 end holding clients', () => {
    const log = [
      started('n1', 1),
      acquire('n1', 1, 'a'),
      started('n1', 3),
      acquire('n1', 3, 'b'),
      release('n1', 3, 'b'),
    ];
    expect(checkInvariants(log, { quiescent: true }).violations).toEqual([]);
  });
});

describe('cluster invariants: nothing served outside a lease', () => {
  it('should accept app events between a start (or a join) and the end of the lease', () => {
    const log = [
      started('n1', 1),
      echo('n1', 1, 1, 'a'),
      line('n1', 1, 1, { type: 'lease-lost', incarnation: 1 }),
      line('n1', 1, 1, { type: 'fenced', incarnation: 1 }),
      line('n1', 1, 2, { type: 'joined', incarnation: 2, why: 'fenced' }),
      echo('n1', 1, 2, 'b'),
    ];
    const report = checkInvariants(log);
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ appEvents: 2, leaseEnds: 1 });
  });

  it('should name an app event after lease-lost, fenced or closed in the node own file', () => {
    for (const end of ['lease-lost', 'fenced', 'left', 'closed']) {
      const log = [started('n1', 1), line('n1', 1, 1, { type: end }), echo('n1', 1, 1, 'a')];
      expect(checkInvariants(log).violations).toEqual([
        `n1#1 served app:echo for client a outside its lease (10 ms after ${end})`,
      ]);
    }
  });

  it('should name an app event after another node declared the incarnation dead, not one before', () => {
    const log = [started('n1', 1), started('n2', 2)];
    log.push(echo('n1', 1, 1, 'a'));
    const dead = line('n2', 2, 1, { type: 'nodes-dead', nodes: ['n1'] });
    log.push(dead);
    // within the skew the two clocks are allowed
    log.push({ ...echo('n1', 1, 1, 'b'), t: dead.t + 20 });
    log.push({ ...echo('n1', 1, 1, 'c'), t: dead.t + 900 });
    expect(checkInvariants(log).violations).toEqual([
      'n1#1 served app:echo for client c 900 ms after n2 declared incarnation 1 dead',
    ]);
  });

  it('should not blame the next incarnation for the death of the previous one', () => {
    const log = [
      started('n1', 1),
      started('n2', 2),
      line('n2', 2, 1, { type: 'nodes-dead', nodes: ['n1'] }),
      line('n1', 1, 1, { type: 'fenced', incarnation: 1 }),
      line('n1', 1, 2, { type: 'joined', incarnation: 2, why: 'fenced' }),
      echo('n1', 1, 2, 'a'),
    ];
    expect(checkInvariants(log).violations).toEqual([]);
  });

  it('should blame the incarnation the reap ended, not a process that restarted under the same id just before the line', () => {
    // n1's first process (incarnation 1) killed; its restart (pid 3) joins as incarnation 2 a
    // little before n2's reap of incarnation 1 is written: the restart serves on
    const log = [started('n1', 1), started('n2', 2), started('n1', 3, 2)];
    const dead = line('n2', 2, 1, { type: 'nodes-dead', nodes: ['n1'], incarnations: [1] });
    log.push(dead, { ...echo('n1', 3, 2, 'a'), t: dead.t + 500 });
    expect(checkInvariants(log).violations).toEqual([]);
    // a line without the incarnations (an older release) can only guess the last one started
    const guessed = log.map((entry) => (entry === dead ? { ...dead, incarnations: undefined } : entry));
    expect(checkInvariants(guessed).violations).toEqual([
      'n1#3 served app:echo for client a 500 ms after n2 declared incarnation 2 dead',
    ]);
    // and the incarnation ended is the one serving: named
    const own = log.map((entry) => (entry === dead ? { ...dead, incarnations: [2] } : entry));
    expect(checkInvariants(own).violations).toEqual([
      'n1#3 served app:echo for client a 500 ms after n2 declared incarnation 2 dead',
    ]);
  });

  it('should name a process that serves after another process joined under its node id', () => {
    const log = [started('n1', 1), echo('n1', 1, 1, 'a')];
    const replacement = started('n1', 7);
    log.push(replacement);
    log.push({ ...echo('n1', 1, 1, 'a'), t: replacement.t + 500 });
    expect(checkInvariants(log).violations).toEqual([
      'n1#1 served app:echo for client a 500 ms after process 7 joined as n1',
    ]);
  });

  it('should not blame a restarted process for serving after its predecessor had started', () => {
    const log = [started('n1', 1), echo('n1', 1, 1, 'a'), started('n1', 7)];
    log.push({ ...echo('n1', 7, 1, 'a'), t: clock + 5000 });
    expect(checkInvariants(log).violations).toEqual([]);
  });

  it('should check hook starts too with the lease option only', () => {
    const hook = (t: number): LogEntry => ({
      ...line('n1', 1, 1, {
        kind: 'hook',
        hook: 'onConnect',
        phase: 'start',
        clientId: 'a',
        fence: 1,
        detail: 'false',
      }),
      t,
    });
    const log = [started('n1', 1), line('n1', 1, 1, { type: 'lease-lost' })];
    log.push(hook(clock + 5));
    expect(checkInvariants(log).violations).toEqual([]);
    expect(checkInvariants(log, { lease: true }).violations).toEqual([
      'n1#1 served onConnect for client a outside its lease (5 ms after lease-lost)',
    ]);
  });
});

describe('cluster invariants: onDelete run twice', () => {
  // a deletion's run on n1 whose completion Redis never recorded, then the same deletion
  // redelivered to n2, which completed it
  const runs = (between: () => LogEntry[]) => {
    const hook = (node: string, pid: number, phase: 'start' | 'end', redelivered: boolean) =>
      line(node, pid, 1, {
        kind: 'hook',
        hook: 'onDelete',
        clientId: 'a',
        deletionId: 'd1',
        fence: 5,
        phase,
        redelivered,
      });
    return [
      started('n1', 1),
      started('n2', 2),
      hook('n1', 1, 'start', false),
      hook('n1', 1, 'end', false),
      ...between(),
      hook('n2', 2, 'start', true),
      hook('n2', 2, 'end', true),
      line('n2', 2, 1, { type: 'deletion-completed', clientId: 'a', deletionId: 'd1', outcome: 'completed' }),
    ];
  };

  it('should accept the first run on an incarnation that was fenced, or lost its lease, after it', () => {
    for (const end of ['fenced', 'lease-lost']) {
      const log = runs(() => [line('n1', 1, 1, { type: end, incarnation: 1 })]);
      expect(checkInvariants(log).violations, end).toEqual([]);
    }
  });

  it('should name a first run on an incarnation that kept its lease, or lost it before the run', () => {
    expect(checkInvariants(runs(() => [])).violations).toEqual([
      'client a: onDelete finished twice, n1 was never fenced',
    ]);
    const before = line('n1', 1, 1, { type: 'lease-lost', incarnation: 1 });
    expect(checkInvariants([before, ...runs(() => [])]).violations).toEqual([
      'client a: onDelete finished twice, n1 was never fenced',
    ]);
  });
});
