import { describe, expect, it } from 'vitest';
import { parseMember } from '../../src/cluster/redis/parse.js';
import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { EmitResult } from '../../src/cluster/redis/results.js';
import type { ClusterNotice } from '../../src/cluster/redis/subscriber.js';
import { claimed, connectedClient, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

const LIMITS = { maxMessages: 1000, maxBytes: 1_048_576 };
let emits = 0;
/** A fresh emit id (base64url, 22 characters). */
function emitId(): string {
  emits += 1;
  return `E${String(emits).padStart(21, '0')}`;
}

function emit(store: RedisClusterStore, clientId: string, n: number, limits = LIMITS, id = emitId()) {
  return store.emit({ clientId, emitId: id, payload: JSON.stringify(['tick', n]), ...limits });
}

function seqOf(result: EmitResult): number {
  if (result.outcome !== 'queued' && result.outcome !== 'replay') throw new Error(`not queued: ${result.outcome}`);
  return result.seq!;
}

/** The store-level outbox of a client: sequence numbers from any node, bounds, acknowledgements, deletion. */
describe('the outbox in Redis (emit, ack, outbox)', () => {
  const { node, keysOf, adminOf, consistent } = useRedis({}, { ownConnections: true });
  /** A key of a client's, in its partition; the admin client of the Redis that holds it. */
  const key = (kind: string, clientId: string) => `${keysOf(clientId).tag}:${kind}:${clientId}`;
  const adminOfClient = (clientId: string) => adminOf(keysOf(clientId).tag);

  it('should number messages from 1, keep them until acknowledged, and show depth and age in the view', async () => {
    const a = await node('a');
    const { clientId, token } = registered(await a.register());
    expect(await a.view(clientId)).toMatchObject({ outbox: { depth: 0, oldestAt: null } });
    const seqs = [];
    const before = a.roundTrips;
    for (const n of [1, 2, 3]) seqs.push(seqOf(await emit(a, clientId, n)));
    expect(seqs).toEqual([1, 2, 3]);
    // one round-trip per emit
    expect(a.roundTrips - before).toBe(3);
    const view = await a.view(clientId);
    expect(view?.outbox.depth).toBe(3);
    expect(view?.outbox.oldestAt).toBeGreaterThan(0);
    const read = await a.readOutbox(clientId);
    if (read.outcome !== 'ok') throw new Error(read.outcome);
    expect(read.members.map(parseMember).map((m) => [m.seq, m.event, m.args])).toEqual([
      [1, 'tick', [1]],
      [2, 'tick', [2]],
      [3, 'tick', [3]],
    ]);
    // a handshake learns at once what waits for its socket
    expect(claimed(await a.claim({ clientId, token, socketId: 's' })).outbox).toEqual({ seq: 3, acked: 0 });
    // what stays is the third member, as Redis counts it (the owner asks for acknowledgements by it)
    const third = read.members[2]!;
    expect(await a.ack(clientId, 2)).toMatchObject({
      outcome: 'acked',
      trimmed: 2,
      acked: 2,
      bytes: Buffer.byteLength(third),
    });
    expect(await a.ack(clientId, 2)).toEqual({ outcome: 'stale', acked: 2 });
    expect(await a.ack(clientId, 9)).toEqual({ outcome: 'ignored', seq: 3 });
    expect((await a.view(clientId))?.outbox.depth).toBe(1);
    expect(await a.readOutbox(clientId)).toMatchObject({
      outcome: 'ok',
      acked: 2,
      seq: 3,
      members: [expect.any(String)],
    });
    expect(await a.ack(clientId, 3)).toEqual({ outcome: 'acked', trimmed: 1, acked: 3, oldestAt: null, bytes: 0 });
    expect(await a.view(clientId)).toMatchObject({ outbox: { depth: 0, oldestAt: null } });
    expect(await (await adminOfClient(clientId)).hGet(key('c', clientId), 'obytes')).toBe('0');
    // the list shows it too
    const page = await a.listViews();
    expect(page.clients.find((v) => v.client.clientId === clientId)?.outbox).toEqual({ depth: 0, oldestAt: null });
    await consistent();
  });

  it('should give concurrent emits from 3 connections distinct sequence numbers, increasing per connection', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => node(id)));
    const { clientId } = registered(await nodes[0]!.register());
    const perNode = await Promise.all(
      nodes.map((n, i) => Promise.all(Array.from({ length: 50 }, (_, j) => emit(n, clientId, i * 100 + j)))),
    );
    const all = perNode.flat().map(seqOf);
    expect([...all].sort((x, y) => x - y)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    // one connection's commands run in the order it sent them
    for (const results of perNode) {
      const seqs = results.map(seqOf);
      expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
    }
    // the outbox holds each message under the number its emit was told
    const read = await nodes[1]!.readOutbox(clientId);
    if (read.outcome !== 'ok') throw new Error(read.outcome);
    const bySeq = new Map(read.members.map(parseMember).map((m) => [m.seq, m.args[0]]));
    for (const [i, results] of perNode.entries()) {
      for (const [j, result] of results.entries()) expect(bySeq.get(seqOf(result))).toBe(i * 100 + j);
    }
  });

  it('should queue a repeated emit (same id, its reply lost) once, even after the page acknowledged it', async () => {
    const a = await node('a');
    const { clientId } = registered(await a.register());
    const id = emitId();
    expect(await emit(a, clientId, 1, LIMITS, id)).toMatchObject({ outcome: 'queued', seq: 1 });
    const again = await emit(a, clientId, 1, LIMITS, id);
    expect(again).toMatchObject({ outcome: 'replay', seq: 1 });
    await a.ack(clientId, 1);
    expect(await emit(a, clientId, 1, LIMITS, id)).toEqual({ outcome: 'replay', seq: null, deliver: null });
    expect(seqOf(await emit(a, clientId, 2))).toBe(2);
    expect(await (await adminOfClient(clientId)).zCard(key('o', clientId))).toBe(1);
  });

  it('should have the owner send its own emits and tell another owner by a notice', async () => {
    const a = await node('a');
    const b = await node('b');
    const notices: ClusterNotice[] = [];
    const stop = await a.subscribe((notice) => notices.push(notice));
    const { clientId } = await connectedClient(a, 'sock-a');
    const own = await emit(a, clientId, 1);
    expect(own).toMatchObject({ outcome: 'queued', seq: 1, deliver: { socketId: 'sock-a' } });
    const other = await emit(b, clientId, 2);
    expect(other).toEqual({ outcome: 'queued', seq: 2, deliver: null });
    for (let i = 0; i < 100 && notices.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ type: 'message', clientId, incarnation: 1, socketId: 'sock-a', seq: 2 });
    expect(parseMember((notices[0] as Extract<ClusterNotice, { type: 'message' }>).member)).toMatchObject({
      seq: 2,
      event: 'tick',
      args: [2],
    });
    // a disconnected client's messages wait: nobody is told
    const { clientId: away, fence } = await connectedClient(a, 'sock-x');
    await a.disconnect({ clientId: away, socketId: 'sock-x', fence });
    expect(await emit(b, away, 1)).toEqual({ outcome: 'queued', seq: 1, deliver: null });
    await stop();
  });

  it('should delete a client whose outbox overflows, exactly once among concurrent emits, counting what it drops', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId } = registered(await a.register());
    const limits = { maxMessages: 5, maxBytes: 1_048_576 };
    for (const n of [1, 2, 3, 4, 5]) seqOf(await emit(a, clientId, n, limits));
    const results = await Promise.all([a, b, a, b].map((n, i) => emit(n, clientId, 6 + i, limits)));
    const overflows = results.filter((r) => r.outcome === 'overflow');
    expect(overflows).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'already-deleted')).toHaveLength(3);
    const { deletion } = overflows[0] as Extract<EmitResult, { outcome: 'overflow' }>;
    expect(deletion).toMatchObject({ clientId, reason: 'outbox-overflow', undelivered: 6, redelivered: false });
    expect(
      await (await adminOfClient(clientId)).exists([key('c', clientId), key('o', clientId), key('e', clientId)]),
    ).toBe(0);
    expect(await (await adminOfClient(clientId)).get(key('t', clientId))).toMatch(/ outbox-overflow$/);
    // bytes count too
    const { clientId: big } = registered(await a.register());
    expect(seqOf(await emit(a, big, 1, { maxMessages: 100, maxBytes: 200 }))).toBe(1);
    expect((await emit(a, big, 2, { maxMessages: 100, maxBytes: 60 })).outcome).toBe('overflow');
    await consistent();
  });

  it('should keep acknowledgements racing emits consistent: the outbox is exactly what is sent and not acknowledged', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId } = registered(await a.register());
    const sent: number[] = [];
    const emitting = (async () => {
      for (let i = 0; i < 10; i++) {
        const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => emit(a, clientId, i * 20 + j)));
        sent.push(...batch.map(seqOf));
      }
    })();
    const acks: string[] = [];
    const acking = (async () => {
      for (let upTo = 0; upTo < 200; upTo += 7) acks.push((await b.ack(clientId, upTo)).outcome);
    })();
    await Promise.all([emitting, acking]);
    // an ack never reaches past what was handed out
    expect(acks.every((outcome) => outcome !== 'gone')).toBe(true);
    const view = await a.view(clientId);
    const acked = Number(await (await adminOfClient(clientId)).hGet(key('c', clientId), 'acked'));
    expect(view?.outbox.depth).toBe(200 - acked);
    const members = await (await adminOfClient(clientId)).zRange(key('o', clientId), 0, -1);
    expect(members.map((m) => Number(m.split('|')[0]))).toEqual(
      Array.from({ length: 200 - acked }, (_, i) => acked + i + 1),
    );
    const bytes = members.reduce((sum, m) => sum + Buffer.byteLength(m), 0);
    expect(Number(await (await adminOfClient(clientId)).hGet(key('c', clientId), 'obytes'))).toBe(bytes);
  });

  it('should count every message racing a delete either queued (then undelivered with the deletion) or refused, never both', async () => {
    const a = await node('a');
    const b = await node('b');
    const c = await node('c');
    let queuedTotal = 0;
    let refusedTotal = 0;
    for (let i = 0; i < 20; i++) {
      const { clientId, token } = registered(await a.register());
      if (i % 2 === 0) await b.claim({ clientId, token, socketId: 's' });
      // the delete goes out on its own connection with the (i % 8)-th emit: the emits before it
      // are queued, the ones after it refused, and the one beside it either
      let go = (): void => {};
      const started = new Promise<void>((resolve) => {
        go = resolve;
      });
      const emitsDone = (async () => {
        const out: EmitResult[] = [];
        for (let n = 0; n < 8; n++) {
          if (n === i % 8) go();
          out.push(await emit(b, clientId, n));
        }
        return out;
      })();
      const deleted = started.then(() => c.delete({ clientId, reason: 'kicked' }));
      const [results, deletion] = await Promise.all([emitsDone, deleted]);
      if (deletion.outcome !== 'deleted') throw new Error(deletion.outcome);
      const queued = results.filter((r) => r.outcome === 'queued').length;
      const refused = results.filter((r) => r.outcome === 'already-deleted').length;
      expect(queued + refused).toBe(8);
      expect(deletion.deletion.undelivered).toBe(queued);
      queuedTotal += queued;
      refusedTotal += refused;
      expect(await (await adminOfClient(clientId)).exists([key('o', clientId), key('e', clientId)])).toBe(0);
    }
    // both orders happened
    expect(queuedTotal).toBeGreaterThan(0);
    expect(refusedTotal).toBeGreaterThan(0);
    await consistent();
  });

  it('should drop the outbox with a swept client and keep it through a release to the next owner', async () => {
    const a = await node('a', { reconnectTimeout: 0 });
    const b = await node('b', { reconnectTimeout: 0 });
    const { clientId, fence, token } = await connectedClient(a);
    for (const n of [1, 2]) await emit(b, clientId, n);
    // a leaves: released, not deleted; the outbox stays with the record
    await a.leave();
    expect((await b.view(clientId))?.outbox.depth).toBe(2);
    const back = claimed(await b.claim({ clientId, token, socketId: 's2' }));
    expect(back.client.fence).toBeGreaterThan(fence);
    expect(back.outbox).toEqual({ seq: 2, acked: 0 });
    await b.disconnect({ clientId, socketId: 's2', fence: back.client.fence });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const swept = await b.sweep();
    if (swept.outcome !== 'swept') throw new Error(swept.outcome);
    expect(swept.deletions).toMatchObject([{ clientId, reason: 'reconnect-timeout', undelivered: 2 }]);
    expect(await (await adminOfClient(clientId)).exists(key('o', clientId))).toBe(0);
  });

  it('should refuse an emit from a fenced incarnation and answer unknown clients', async () => {
    const a = await node('a');
    expect(await emit(a, 'AAAAAAAAAAAAAAAAAAAAAA', 1)).toEqual({ outcome: 'unknown-client' });
    expect(await a.ack('AAAAAAAAAAAAAAAAAAAAAA', 1)).toEqual({ outcome: 'gone' });
    expect(await a.readOutbox('AAAAAAAAAAAAAAAAAAAAAA')).toEqual({ outcome: 'gone' });
    const { clientId } = registered(await a.register());
    await a.leave();
    // left: it no longer speaks for the cluster
    expect(await emit(a, clientId, 1)).toEqual({ outcome: 'node-fenced' });
  });
});
