import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/core/ids.js';
import { claimed, registered } from './fixtures.js';
import { sleep, useRedis } from './helpers.js';

// A client record stays in Redis's compact hash encoding (a listpack) whatever its `data` (issue
// 20): a `data` of 64 bytes or less in the record, a longer one in its own key (`x:<clientId>`).
// Redis turns a hash into a hash table (about twice the bytes) as soon as one value is over
// `hash-max-listpack-value` (64 bytes by default), and never back.

/** A `data` whose JSON is exactly `bytes` long. */
const dataOf = (bytes: number) => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });

describe('compact client records', () => {
  const { context, node, keysOf, adminOf, consistent, clientKeysMatching, flushAll } = useRedis();
  /** A key of a client's, in its partition; the admin client of the Redis that holds it. */
  const key = (kind: string, id: string) => `${keysOf(id).tag}:${kind}:${id}`;
  const adminOfClient = (id: string) => adminOf(keysOf(id).tag);
  const encoding = async (id: string) => (await adminOfClient(id)).sendCommand(['OBJECT', 'ENCODING', key('c', id)]);
  /** Where a record's data is: in its hash, in its data key, or neither (no record). */
  const placed = async (id: string) => ({
    inHash: await (await adminOfClient(id)).hGet(key('c', id), 'data'),
    apart: await (await adminOfClient(id)).get(key('x', id)),
  });

  it.each([
    { label: 'no data', data: undefined, json: 'null' },
    { label: 'a small data', data: { user: 1 }, json: '{"user":1}' },
    { label: 'a data of exactly 64 B', data: dataOf(64), json: JSON.stringify(dataOf(64)) },
  ])('should keep a record with $label in its hash, listpack-encoded, with no data key', async ({ data, json }) => {
    expect(json.length).toBeLessThanOrEqual(64);
    const a = await node('a');
    const { clientId, token, client } = registered(await a.register(data === undefined ? {} : { data }));
    expect(client.data).toEqual(data ?? null);
    expect(await placed(clientId)).toEqual({ inHash: json, apart: null });
    expect(await encoding(clientId)).toBe('listpack');
    const { fence } = claimed(await a.claim({ clientId, token, socketId: 's1' })).client;
    expect(await a.disconnect({ clientId, socketId: 's1', fence })).toMatchObject({ outcome: 'disconnected' });
    expect(await encoding(clientId)).toBe('listpack');
    expect(await placed(clientId)).toEqual({ inHash: json, apart: null });
    expect((await a.get(clientId))?.data).toEqual(data ?? null);
  });

  it.each([{ bytes: 65 }, { bytes: 110 }, { bytes: 10_000 }])(
    'should keep a data of $bytes B in its data key, the record listpack-encoded, through a whole lifecycle',
    async ({ bytes }) => {
      const data = dataOf(bytes);
      const json = JSON.stringify(data);
      expect(json.length).toBe(bytes);
      const a = await node('a');
      const b = await node('b');
      const reg = registered(await a.register({ data }));
      const { clientId, token } = reg;
      expect(reg.client.data).toEqual(data);
      expect(await placed(clientId)).toEqual({ inHash: null, apart: json });
      expect(await encoding(clientId)).toBe('listpack');
      // a replay of the register reads it back too
      expect(registered(await a.register({ clientId, token, data })).client.data).toEqual(data);

      const connect = claimed(await a.claim({ clientId, token, socketId: 's1' }));
      expect(connect.client.data).toEqual(data);
      // read from any node: get, view, list (every state, and by owner)
      expect((await b.get(clientId))?.data).toEqual(data);
      expect((await b.view(clientId))?.client.data).toEqual(data);
      expect((await b.list()).clients.map((c) => c.data)).toEqual([data]);
      expect((await b.list({ state: 'connected', node: 'a' })).clients.map((c) => c.data)).toEqual([data]);
      // a swap to another node, a disconnect there, a reconnect
      const swap = claimed(await b.claim({ clientId, token, socketId: 's2' }));
      expect(swap.outcome).toBe('swapped');
      expect(swap.client.data).toEqual(data);
      const gone = await b.disconnect({ clientId, socketId: 's2', fence: swap.client.fence });
      expect(gone).toMatchObject({ outcome: 'disconnected', client: { data }, previous: { data } });
      expect(claimed(await a.claim({ clientId, token, socketId: 's3' })).client.data).toEqual(data);
      expect(await encoding(clientId)).toBe('listpack');
      expect(await placed(clientId)).toEqual({ inHash: null, apart: json });
      await consistent();

      // deleted from the other node: the journal entry has the data, no key of the client is left
      const deleted = await b.delete({ clientId, reason: 'test' });
      expect(deleted).toMatchObject({ outcome: 'deleted', deletion: { client: { data } } });
      expect(await (await adminOfClient(clientId)).exists([key('c', clientId), key('x', clientId)])).toBe(0);
      expect(await (await adminOfClient(clientId)).exists(key('t', clientId))).toBe(1);
      expect((await b.pendingDeletions()).map((d) => d.client.data)).toEqual([data]);
      await consistent();
    },
  );

  it('should delete the data key with the client in the sweep (a deadline) and in an overflowing emit', async () => {
    const a = await node('a', { handshakeTimeout: 50 });
    const data = dataOf(110);
    const swept = registered(await a.register({ data }));
    const overflow = registered(await a.register({ data }));
    claimed(await a.claim({ clientId: overflow.clientId, token: overflow.token, socketId: 's1' }));
    const emitted = await a.emit({
      clientId: overflow.clientId,
      emitId: 'e1',
      payload: '["hello"]',
      maxMessages: 0,
      maxBytes: 1000,
    });
    expect(emitted).toMatchObject({ outcome: 'overflow', deletion: { client: { data } } });
    await sleep(100);
    const sweep = await a.sweep();
    expect(sweep).toMatchObject({ outcome: 'swept' });
    expect(sweep.outcome === 'swept' && sweep.deletions.map((d) => [d.clientId, d.client.data])).toEqual([
      [swept.clientId, data],
    ]);
    expect(await clientKeysMatching('x:*')).toEqual([]);
    await consistent();
  });

  it("should keep the data of the clients a leaving or dead node lets go (release), on every side of the data's size", async () => {
    const a = await node('a', { nodeTtl: 3000 });
    const b = await node('b', { nodeTtl: 3000 });
    const c = await node('c', { nodeTtl: 3000 });
    const clients = [];
    for (const [owner, bytes] of [
      [a, 110],
      [a, 20],
      [b, 110],
      [b, 20],
    ] as const) {
      const data = dataOf(bytes);
      const reg = registered(await owner.register({ data }));
      claimed(await owner.claim({ clientId: reg.clientId, token: reg.token, socketId: `s-${reg.clientId}` }));
      clients.push({ clientId: reg.clientId, data });
    }
    // a leaves; b dies (its heartbeat older than nodeTtl) and c reaps it
    expect(await a.leave()).toMatchObject({ outcome: 'left', released: 2 });
    await context.admin.zAdd(`{${context.prefix}}:nodes`, { score: Date.now() - 10_000, value: 'b' });
    expect(await c.reap()).toMatchObject({ outcome: 'reaped', declaredDead: ['b'], released: 2 });
    for (const { clientId, data } of clients) {
      expect(await c.get(clientId)).toMatchObject({ state: 'disconnected', node: null, data });
      expect(await encoding(clientId)).toBe('listpack');
    }
    await consistent();
  });

  it('should restore a record with its data in the right place, over a record that had it in the other', async () => {
    const a = await node('a');
    const small = registered(await a.register({ data: { user: 1 } }));
    const record = (await a.get(small.clientId))!;
    const tokenHash = hashToken(small.token);
    // over a record with a small data: a long one goes apart, out of the hash
    const long = dataOf(10_000);
    expect(await a.restore([{ ...record, data: long, fence: record.fence + 1, tokenHash }])).toEqual(['restored']);
    expect(await placed(small.clientId)).toEqual({ inHash: null, apart: JSON.stringify(long) });
    expect((await a.get(small.clientId))?.data).toEqual(long);
    // and back: a small one in the hash, the data key gone
    expect(await a.restore([{ ...record, fence: record.fence + 2, tokenHash }])).toEqual(['restored']);
    expect(await placed(small.clientId)).toEqual({ inHash: '{"user":1}', apart: null });
    // after Redis lost its data (every master): a long data restored apart
    await flushAll();
    expect(await a.heartbeat()).toEqual({ outcome: 'reset' });
    await a.join();
    expect(await a.restore([{ ...record, data: long, fence: record.fence + 3, tokenHash }])).toEqual(['restored']);
    expect(await placed(small.clientId)).toEqual({ inHash: null, apart: JSON.stringify(long) });
    expect(await encoding(small.clientId)).toBe('listpack');
    expect((await a.view(small.clientId))?.client.data).toEqual(long);
    await consistent();
  });

  it('should remove the data key with the record a writeBack removes (Redis went back to a copy before the deletion)', async () => {
    const a = await node('a');
    const data = dataOf(110);
    const { clientId } = registered(await a.register({ data }));
    // the record's keys as they were, then deleted, then Redis back to them without the tombstone
    const hash = await (await adminOfClient(clientId)).hGetAll(key('c', clientId));
    const apart = await (await adminOfClient(clientId)).get(key('x', clientId));
    const deleted = await a.delete({ clientId, reason: 'test' });
    expect(deleted.outcome).toBe('deleted');
    const deletionId = deleted.outcome === 'deleted' ? deleted.deletion.deletionId : '';
    await (await adminOfClient(clientId)).del(key('t', clientId));
    await (await adminOfClient(clientId)).hSet(key('c', clientId), hash);
    await (await adminOfClient(clientId)).set(key('x', clientId), apart!);
    expect((await a.get(clientId))?.data).toEqual(data);
    expect(await a.writeBack([{ clientId, deletionId, reason: 'test', ttl: 60_000 }], true)).toBe(1);
    expect(await (await adminOfClient(clientId)).exists([key('c', clientId), key('x', clientId)])).toBe(0);
    expect(await (await adminOfClient(clientId)).exists(key('t', clientId))).toBe(1);
  });

  it('should read a record of key layout 1 (a long data in its hash) as its own: get, list, claim, delete', async () => {
    const a = await node('a');
    const data = dataOf(110);
    const { clientId, token } = registered(await a.register({ data }));
    // as a node of layout 1 wrote it: the data in the hash, no data key
    await (await adminOfClient(clientId)).hSet(key('c', clientId), 'data', JSON.stringify(data));
    await (await adminOfClient(clientId)).del(key('x', clientId));
    expect(await encoding(clientId)).toBe('hashtable');
    expect((await a.get(clientId))?.data).toEqual(data);
    expect((await a.list()).clients.map((c) => c.data)).toEqual([data]);
    expect(claimed(await a.claim({ clientId, token, socketId: 's1' })).client.data).toEqual(data);
    expect(await a.delete({ clientId, reason: 'test' })).toMatchObject({
      outcome: 'deleted',
      deletion: { client: { data } },
    });
    expect(await (await adminOfClient(clientId)).exists([key('c', clientId), key('x', clientId)])).toBe(0);
  });
});
