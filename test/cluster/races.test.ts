import { describe, expect, it } from 'vitest';
import { isClaimed, registered } from './fixtures.js';
import { sleep, useRedis } from './helpers.js';

/**
 * Races: many connections (one per node) send scripts at once; Redis runs each atomically in
 * some order. The checks reconstruct that order from the replies and require it to be a single
 * consistent history.
 */
describe('races between scripts, each from its own connection', () => {
  const { context, node, consistent } = useRedis({}, { ownConnections: true });

  it('should give 20 concurrent claims of one client from 20 nodes one consistent chain of owners', async () => {
    const nodes = await Promise.all(Array.from({ length: 20 }, (_, i) => node(`n${i}`)));
    const { clientId, token, client: initial } = registered(await nodes[0]!.register());
    const results = await Promise.all(nodes.map((n, i) => n.claim({ clientId, token, socketId: `sock-${i}` })));
    const claims = results.filter(isClaimed);
    expect(claims).toHaveLength(20);
    expect(claims.filter((c) => c.outcome === 'connected')).toHaveLength(1);
    expect(claims.filter((c) => c.outcome === 'swapped')).toHaveLength(19);
    // the order Redis ran them in: by the fence each produced (every claim changed the owner)
    const chain = [...claims].sort((x, y) => x.client.fence - y.client.fence);
    expect(new Set(chain.map((c) => c.client.fence)).size).toBe(20);
    expect(chain[0]!.previous).toEqual(initial);
    for (let i = 1; i < chain.length; i++) {
      expect(chain[i]!.previous).toEqual(chain[i - 1]!.client);
      expect(chain[i]!.ownerChanged).toBe(true);
    }
    const last = chain[chain.length - 1]!;
    expect(await nodes[0]!.get(clientId)).toEqual(last.client);
    expect((await nodes[0]!.counts()).connected).toBe(1);
    await consistent();
  });

  it('should answer 10 concurrent claims of the same socket with one connect and nine replays', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token } = registered(await a.register());
    const claims = (
      await Promise.all(Array.from({ length: 10 }, () => b.claim({ clientId, token, socketId: 's' })))
    ).filter(isClaimed);
    expect(claims.map((c) => c.outcome).sort()).toEqual(['connected', ...Array(9).fill('replay')]);
    expect(new Set(claims.map((c) => c.client.fence)).size).toBe(1);
  });

  it('should delete a client exactly once when 8 nodes delete it at once', async () => {
    const nodes = await Promise.all(Array.from({ length: 8 }, (_, i) => node(`n${i}`)));
    const { clientId, token } = registered(await nodes[0]!.register());
    await nodes[1]!.claim({ clientId, token, socketId: 's' });
    const results = await Promise.all(nodes.map((n) => n.delete({ clientId, reason: 'kicked' })));
    expect(results.filter((r) => r.outcome === 'deleted')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'already-deleted')).toHaveLength(7);
    await consistent();
  });

  it('should order a claim and a delete racing on 30 clients: either connected then deleted, or deleted then refused', async () => {
    const a = await node('a');
    const b = await node('b');
    const c = await node('c');
    const clients = await Promise.all(Array.from({ length: 30 }, async () => registered(await a.register())));
    const outcomes: string[] = [];
    // one pair at a time, each call on its own connection, issued in a random order: Redis runs
    // whichever command it reads first
    for (const [i, { clientId, token }] of clients.entries()) {
      const claimCall = () => b.claim({ clientId, token, socketId: 's' });
      const deleteCall = () => c.delete({ clientId, reason: 'kicked' });
      const [claim, deletion] =
        i % 2 === 0
          ? await Promise.all([claimCall(), deleteCall()])
          : await Promise.all([deleteCall(), claimCall()]).then(([d, cl]) => [cl, d] as const);
      expect(deletion.outcome).toBe('deleted');
      if (deletion.outcome !== 'deleted') continue;
      if (isClaimed(claim)) {
        expect(claim.outcome).toBe('connected');
        expect(deletion.deletion.client).toEqual(claim.client);
        expect(deletion.deletion.fence).toBeGreaterThan(claim.client.fence);
        outcomes.push('claim first');
      } else {
        expect(claim).toEqual({ outcome: 'rejected', code: 'CLIENT_DELETED', reason: 'kicked' });
        expect(deletion.deletion.client.state).toBe('handshaking');
        outcomes.push('delete first');
      }
    }
    // both interleavings happened, so both branches above were checked
    expect(new Set(outcomes)).toEqual(new Set(['claim first', 'delete first']));
    expect(await a.counts()).toMatchObject({ total: 0 });
    await consistent();
  });

  it("should order a socket's disconnect and another socket's claim: disconnected then reconnected, or swapped then stale", async () => {
    const a = await node('a');
    const b = await node('b');
    const seen = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const { clientId, token } = registered(await a.register());
      const first = await a.claim({ clientId, token, socketId: 's1' });
      if (!isClaimed(first)) throw new Error('claim failed');
      const disconnectCall = () => a.disconnect({ clientId, socketId: 's1', fence: first.client.fence });
      const claimCall = () => b.claim({ clientId, token, socketId: 's2' });
      const [gone, claim] =
        round % 2 === 0
          ? await Promise.all([disconnectCall(), claimCall()])
          : await Promise.all([claimCall(), disconnectCall()]).then(([cl, g]) => [g, cl] as const);
      if (!isClaimed(claim)) throw new Error('claim failed');
      seen.add(gone.outcome);
      if (gone.outcome === 'disconnected') expect(claim.outcome).toBe('reconnected');
      else {
        expect(gone.outcome).toBe('stale-socket');
        expect(claim.outcome).toBe('swapped');
      }
      expect(await a.get(clientId)).toMatchObject({ state: 'connected', socketId: 's2', node: 'b' });
    }
    expect(seen).toEqual(new Set(['disconnected', 'stale-socket']));
    await consistent();
  });

  it('should delete each due client exactly once when 3 nodes sweep at once', async () => {
    const nodes = await Promise.all(
      ['a', 'b', 'c'].map((id) => node(id, { handshakeTimeout: 0, batchSize: 7, outageGap: 600_000 })),
    );
    const ids = new Set(
      (await Promise.all(Array.from({ length: 60 }, () => nodes[0]!.register()))).map((r) => registered(r).clientId),
    );
    await sleep(2); // every deadline (now + 0) is in the past
    const deletedBy = new Map<string, string[]>();
    for (;;) {
      const rounds = await Promise.all(nodes.map((n) => n.sweep()));
      for (const [i, round] of rounds.entries()) {
        if (round.outcome !== 'swept') throw new Error(round.outcome);
        for (const d of round.deletions) {
          expect(d.reason).toBe('handshake-timeout');
          deletedBy.set(d.clientId, [...(deletedBy.get(d.clientId) ?? []), nodes[i]!.nodeId]);
        }
      }
      if (rounds.every((r) => r.outcome === 'swept' && !r.more)) break;
    }
    expect(new Set(deletedBy.keys())).toEqual(ids);
    for (const by of deletedBy.values()) expect(by).toHaveLength(1);
    expect(await nodes[0]!.counts()).toMatchObject({ total: 0 });
    await consistent();
  });

  it('should let a sweep and a claim race on due clients: each is either connected or deleted, never both', async () => {
    const a = await node('a', { handshakeTimeout: 0, outageGap: 600_000 });
    const b = await node('b', { handshakeTimeout: 0, outageGap: 600_000 });
    const d = await node('d', { handshakeTimeout: 0, outageGap: 600_000 });
    const clients = await Promise.all(Array.from({ length: 40 }, async () => registered(await a.register())));
    await sleep(2);
    // claims on two connections, the sweep on a third, issued claims / sweep / claims: the first
    // twenty at once, the others one after another, so that the sweep (with partitions, a read of
    // which have a deadline due, then their sweeps) lands among them
    const claimAtOnce = (n: typeof b, part: typeof clients) =>
      Promise.all(part.map(({ clientId, token }) => n.claim({ clientId, token, socketId: 's' })));
    const claimInTurn = async (n: typeof b, part: typeof clients) => {
      const out = [];
      for (const { clientId, token } of part) out.push(await n.claim({ clientId, token, socketId: 's' }));
      return out;
    };
    const [early, sweep, late] = await Promise.all([
      claimAtOnce(b, clients.slice(0, 20)),
      a.sweep(),
      claimInTurn(d, clients.slice(20)),
    ]);
    const claims = [...early, ...late];
    if (sweep.outcome !== 'swept') throw new Error(sweep.outcome);
    const swept = new Set(sweep.deletions.map((d) => d.clientId));
    for (const [i, claim] of claims.entries()) {
      const { clientId } = clients[i]!;
      if (swept.has(clientId)) expect(claim).toMatchObject({ outcome: 'rejected', code: 'CLIENT_DELETED' });
      else expect(claim.outcome).toBe('connected');
    }
    expect((await a.counts()).connected).toBe(40 - swept.size);
    // both outcomes happened, so both branches above were checked
    expect(swept.size).toBeGreaterThan(0);
    expect(swept.size).toBeLessThan(40);
    await consistent();
  });

  it('should release a dead node’s clients exactly once when 3 nodes reap at once', async () => {
    const options = { nodeTtl: 60_000, heartbeatInterval: 1_000, outageGap: 600_000, batchSize: 9 };
    const dead = await node('dead', options);
    const reapers = await Promise.all(['a', 'b', 'c'].map((id) => node(id, options)));
    const clients = await Promise.all(Array.from({ length: 50 }, async () => registered(await dead.register())));
    await Promise.all(clients.map(({ clientId, token }, i) => dead.claim({ clientId, token, socketId: `s${i}` })));
    // its heartbeat is older than any nodeTtl, as after kill -9
    await context.admin.zAdd(`{${context.prefix}}:nodes`, { score: 0, value: 'dead' }, { condition: 'XX' });
    let released = 0;
    const declared: string[] = [];
    for (;;) {
      const rounds = await Promise.all(reapers.map((r) => r.reap()));
      for (const round of rounds) {
        if (round.outcome !== 'reaped') throw new Error(round.outcome);
        released += round.released;
        declared.push(...round.declaredDead);
      }
      if (rounds.every((r) => r.outcome === 'reaped' && !r.more)) break;
    }
    expect(declared).toEqual(['dead']);
    expect(released).toBe(50);
    expect(await reapers[0]!.counts()).toMatchObject({ connected: 0, disconnected: 50, nodes: 3 });
    await consistent();
  });
});
