import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { useRedis } from './helpers.js';

/**
 * Random command sequences on 3 nodes and 3 client slots, run against Redis and against a plain
 * model of the lifecycle table (DESIGN.md) with owners and fences. After every command the
 * outcome, the record (state, socket, owner) and the fence's movement must match the model.
 */

const NODES = ['n0', 'n1', 'n2'] as const;
const SOCKETS = ['s0', 's1', 's2'] as const;

type Op =
  | { type: 'register'; node: number; slot: number }
  | { type: 'claim'; node: number; slot: number; socket: number; goodToken: boolean }
  | {
      type: 'disconnect';
      /** the owner's node (when it has one) or `node` */
      byOwner: boolean;
      node: number;
      slot: number;
      /** the current socket, the last disconnected one, or SOCKETS[socket] */
      which: 'current' | 'last' | 'any';
      socket: number;
      fence: 'current' | 'stale' | 'none';
    }
  | { type: 'delete'; node: number; slot: number }
  | { type: 'kill'; node: number; reaper: number }
  | { type: 'rejoin'; node: number }
  | { type: 'leave'; node: number };

const slot = fc.integer({ min: 0, max: 2 });
const nodeIndex = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ type: fc.constant('register' as const), node: nodeIndex, slot }) },
  {
    weight: 8,
    arbitrary: fc.record({
      type: fc.constant('claim' as const),
      node: nodeIndex,
      slot,
      socket: fc.integer({ min: 0, max: 2 }),
      goodToken: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('disconnect' as const),
      byOwner: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
      node: nodeIndex,
      slot,
      which: fc.constantFrom('current' as const, 'current' as const, 'last' as const, 'any' as const),
      socket: fc.integer({ min: 0, max: 2 }),
      fence: fc.constantFrom('current' as const, 'current' as const, 'stale' as const, 'none' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), node: nodeIndex, slot }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('kill' as const), node: nodeIndex, reaper: nodeIndex }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('rejoin' as const), node: nodeIndex }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leave' as const), node: nodeIndex }) },
);

const registerFirst: fc.Arbitrary<Op> = fc.record({
  type: fc.constant('register' as const),
  node: nodeIndex,
  slot,
});

interface ModelClient {
  clientId: string;
  token: string;
  state: 'handshaking' | 'connected' | 'disconnected' | 'deleted';
  socketId: string | null;
  lastSocketId: string | null;
  owner: string | null; // `${node}:${inc}`
  fence: number; // the real fence last seen
}

interface ModelNode {
  inc: number;
  state: 'alive' | 'dead' | 'left';
}

describe('a model of the scripts, checked by random command sequences', () => {
  const { context, redis, adminFor, consistent } = useRedis();
  let run = 0;

  it('should agree with the model on every outcome, record and fence move', async () => {
    await fc.assert(
      fc.asyncProperty(
        // every slot registered first, on random nodes, then anything
        fc.tuple(
          fc.array(registerFirst, { minLength: 3, maxLength: 3 }),
          fc.array(opArb, { minLength: 5, maxLength: 50 }),
        ),
        async ([registers, rest]) => {
          const ops: Op[] = [...registers, ...rest];
          run += 1;
          const prefix = `${context.prefix}m${run}`;
          const options = {
            keyPrefix: prefix,
            partitions: context.partitions,
            nodeTtl: 3_600_000,
            heartbeatInterval: 1_000,
            outageGap: 3_600_000,
          };
          const stores = await Promise.all(
            NODES.map((nodeId) => RedisClusterStore.connect({ redis: redis(), nodeId, ...options })),
          );
          try {
            await runSequence(stores, ops, prefix);
          } finally {
            await Promise.all(stores.map((s) => s.close()));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  async function runSequence(stores: RedisClusterStore[], ops: Op[], prefix: string): Promise<void> {
    const nodes: ModelNode[] = [];
    for (const store of stores) nodes.push({ inc: (await store.join()).incarnation, state: 'alive' });
    const clients: Array<ModelClient | undefined> = [undefined, undefined, undefined];
    const ownerOf = (n: number): string => `${NODES[n]}:${nodes[n]!.inc}`;

    /** Lets go of every client `owner` held (node death or leave), as release() does. */
    const release = (owner: string): void => {
      for (const c of clients) {
        if (!c || c.state === 'deleted' || c.owner !== owner) continue;
        if (c.state === 'connected') {
          c.state = 'disconnected';
          c.lastSocketId = c.socketId;
          c.socketId = null;
        }
        c.owner = null;
        c.fence = Number.NaN; // rises: checked below
      }
    };

    const reapAll = async (reaper: RedisClusterStore): Promise<string[]> => {
      const declared: string[] = [];
      for (;;) {
        const result = await reaper.reap();
        if (result.outcome !== 'reaped') throw new Error(`reaper fenced: ${result.outcome}`);
        declared.push(...result.declaredDead);
        if (!result.more) return declared;
      }
    };

    for (const op of ops) {
      if (op.type === 'disconnect' && op.byOwner) {
        const owner = clients[op.slot]?.owner;
        if (owner) op.node = NODES.indexOf(owner.split(':')[0] as (typeof NODES)[number]);
      }
      const store = stores[op.node]!;
      const alive = nodes[op.node]!.state === 'alive';
      const before = clients.map((c) => (c ? { ...c } : undefined));
      const label = JSON.stringify(op);
      switch (op.type) {
        case 'register': {
          if (clients[op.slot]) continue;
          const result = await store.register();
          if (!alive) {
            expect(result.outcome, label).toBe('node-fenced');
            continue;
          }
          if (result.outcome !== 'registered') throw new Error(`${label}: ${result.outcome}`);
          clients[op.slot] = {
            clientId: result.clientId,
            token: result.token,
            state: 'handshaking',
            socketId: null,
            lastSocketId: null,
            owner: ownerOf(op.node),
            fence: result.client.fence,
          };
          break;
        }
        case 'claim': {
          const c = clients[op.slot];
          if (!c) continue;
          const socketId = SOCKETS[op.socket]!;
          const result = await store.claim({ clientId: c.clientId, token: op.goodToken ? c.token : 'bad', socketId });
          const got = 'code' in result ? result.code : result.outcome;
          let expected: string;
          if (!alive) expected = 'node-fenced';
          else if (c.state === 'deleted') expected = 'CLIENT_DELETED';
          else if (!op.goodToken) expected = 'BAD_TOKEN';
          else if (c.state === 'connected' && c.socketId === socketId && c.owner === ownerOf(op.node))
            expected = 'replay';
          else expected = { handshaking: 'connected', disconnected: 'reconnected', connected: 'swapped' }[c.state];
          expect(got, label).toBe(expected);
          if (!['connected', 'reconnected', 'swapped'].includes(expected)) break;
          if (c.owner !== ownerOf(op.node)) c.fence = Number.NaN;
          c.state = 'connected';
          c.socketId = socketId;
          c.owner = ownerOf(op.node);
          break;
        }
        case 'disconnect': {
          const c = clients[op.slot];
          if (!c) continue;
          const picked = op.which === 'current' ? c.socketId : op.which === 'last' ? c.lastSocketId : null;
          const socketId = picked ?? SOCKETS[op.socket]!;
          const current = (await stores[0]!.get(c.clientId))?.fence ?? 0;
          const fence = op.fence === 'current' ? current : op.fence === 'stale' ? current - 1 : null;
          const result = await store.disconnect({ clientId: c.clientId, socketId, fence });
          let expected: string;
          if (!alive) expected = 'node-fenced';
          else if (c.state === 'deleted') expected = 'already-deleted';
          else if (c.state !== 'connected' || c.socketId !== socketId) {
            if (c.lastSocketId === socketId) expected = 'replay';
            else expected = c.state !== 'connected' ? 'not-connected' : 'stale-socket';
          } else if (c.owner !== ownerOf(op.node) || op.fence === 'stale') expected = 'fenced';
          else expected = 'disconnected';
          expect(result.outcome, label).toBe(expected);
          if (expected === 'disconnected') {
            c.state = 'disconnected';
            c.lastSocketId = socketId;
            c.socketId = null;
          }
          break;
        }
        case 'delete': {
          const c = clients[op.slot];
          if (!c) continue;
          const result = await store.delete({ clientId: c.clientId, reason: 'kicked' });
          const expected = !alive ? 'node-fenced' : c.state === 'deleted' ? 'already-deleted' : 'deleted';
          expect(result.outcome, label).toBe(expected);
          if (expected === 'deleted') {
            c.state = 'deleted';
            c.socketId = null;
            c.owner = null;
          }
          break;
        }
        case 'kill': {
          if (op.node === op.reaper || nodes[op.reaper]!.state !== 'alive') continue;
          // its heartbeat is now older than any nodeTtl: the reaper declares it dead
          await (await adminFor(prefix)).zAdd(
            `{${prefix}}:nodes`,
            { score: 0, value: NODES[op.node]! },
            { condition: 'XX' },
          );
          const declared = await reapAll(stores[op.reaper]!);
          expect(declared, label).toEqual(alive ? [NODES[op.node]] : []);
          if (alive) {
            release(ownerOf(op.node));
            nodes[op.node]!.state = 'dead';
          }
          break;
        }
        case 'rejoin': {
          const joined = await store.join();
          expect(joined.endedIncarnation, label).toBe(alive ? nodes[op.node]!.inc : null);
          release(ownerOf(op.node));
          nodes[op.node] = { inc: joined.incarnation, state: 'alive' };
          await reapAll(store);
          break;
        }
        case 'leave': {
          const result = await store.leave();
          // leaving again after having left is a replay
          expect(result.outcome, label).toBe(nodes[op.node]!.state === 'dead' ? 'node-fenced' : 'left');
          if (alive) {
            release(ownerOf(op.node));
            nodes[op.node]!.state = 'left';
          }
          break;
        }
      }

      // every record as the model says, every fence moved exactly when the model says
      for (const [i, c] of clients.entries()) {
        if (!c) continue;
        const record = await stores[0]!.get(c.clientId);
        if (c.state === 'deleted') {
          expect(record, label).toBeUndefined();
          continue;
        }
        expect(record, label).toBeDefined();
        const owner = record!.node === null ? null : `${record!.node}:${record!.incarnation}`;
        expect({ state: record!.state, socketId: record!.socketId, owner }, label).toEqual({
          state: c.state,
          socketId: c.socketId,
          owner: c.owner,
        });
        const previous = before[i]?.fence;
        if (Number.isNaN(c.fence)) expect(record!.fence, `${label}: fence rises`).toBeGreaterThan(previous ?? 0);
        else expect(record!.fence, `${label}: fence unchanged`).toBe(c.fence);
        c.fence = record!.fence;
      }
    }
    await consistent(prefix);
  }
});
