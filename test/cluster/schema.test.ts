import { describe, expect, it } from 'vitest';
import { createClusterSupervisor } from '../../src/cluster/index.js';
import { KEY_LAYOUT } from '../../src/cluster/redis/keys.js';
import { claimed, connectedClient, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

// The key layout Redis was written by (`{prefix}:schema`), checked at every join (issue 20): a
// node never joins a Redis of another layout or partition count, and writes nothing to it.

describe('the key layout (schema) at join', () => {
  const { context, node, store, redis } = useRedis();
  const schema = () => context.admin.hGetAll(`{${context.prefix}}:schema`);

  it('should write the layout at the first join of a fresh Redis, and join a Redis of the same layout', async () => {
    expect(await schema()).toEqual({});
    const a = await node('a');
    expect(await schema()).toEqual({ layout: String(KEY_LAYOUT.layout), partitions: String(KEY_LAYOUT.partitions) });
    expect(KEY_LAYOUT).toEqual({ layout: 1, partitions: 1 });
    const client = await connectedClient(a);
    // another node, and a rejoin of the first, find the same layout
    const b = await node('b');
    expect(claimed(await b.claim({ ...client, socketId: 's2' })).outcome).toBe('swapped');
    expect((await a.join()).incarnation).toBe(2);
    expect(await schema()).toEqual({ layout: '1', partitions: '1' });
  });

  it.each([
    { layout: '2', partitions: '256', named: 'key layout 2 with 256 partition(s)' },
    { layout: '1', partitions: '4', named: 'key layout 1 with 4 partition(s)' },
  ])(
    'should refuse to join a Redis written by another layout ($layout, $partitions partitions) with KEY_LAYOUT_MISMATCH, writing nothing',
    async ({ layout, partitions, named }) => {
      await context.admin.hSet(`{${context.prefix}}:schema`, { layout, partitions });
      const a = await store({ nodeId: 'a' });
      const refused = await a.join().catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'KEY_LAYOUT_MISMATCH' });
      const message = (refused as Error).message;
      // names what Redis holds, the key, what this release uses, and what to do
      expect(message).toContain(named);
      expect(message).toContain(`{${context.prefix}}:schema`);
      expect(message).toContain('this release uses layout 1 with 1');
      expect(message).toContain('another keyPrefix');
      expect(a.incarnation).toBeNull();
      // not a key written: no node, no epoch, no write counter
      expect((await context.admin.keys(`{${context.prefix}}:*`)).sort()).toEqual([`{${context.prefix}}:schema`]);
      expect(await schema()).toEqual({ layout, partitions });
    },
  );

  it('should refuse it in the join script too (a node of another layout that wrote the schema after the check)', async () => {
    const a = await store({ nodeId: 'a' });
    const send = context.admin.sendCommand.bind(context.admin);
    // the schema appears between the store's read and its script: the script refuses, atomically
    let written = false;
    const schemaKey = `{${context.prefix}}:schema`;
    const runner = (a as unknown as { runner: { command: (args: string[], what: string) => Promise<unknown> } }).runner;
    const command = runner.command.bind(runner);
    runner.command = async (args, what) => {
      const reply = await command(args, what);
      if (!written && args[0] === 'HMGET' && args[1] === schemaKey) {
        written = true;
        await send(['HSET', schemaKey, 'layout', '2', 'partitions', '256']);
      }
      return reply;
    };
    await expect(a.join()).rejects.toMatchObject({
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining('key layout 2 with 256 partition(s)'),
    });
    expect(written).toBe(true);
    expect(await context.admin.exists(`{${context.prefix}}:node:a`)).toBe(0);
  });

  it('should take a Redis written before the schema key (layout 1: records, meta, no schema) as layout 1, keep its clients and write the schema', async () => {
    // a cluster of a release before the schema key: the same keys, without {prefix}:schema
    const old = await node('old');
    const kept = await connectedClient(old);
    const waiting = registered(await old.register());
    await context.admin.del(`{${context.prefix}}:schema`);
    expect((await context.admin.keys(`{${context.prefix}}:c:*`)).length).toBe(2);

    const a = await node('a');
    expect(await schema()).toEqual({ layout: '1', partitions: '1' });
    expect((await a.get(kept.clientId))?.state).toBe('connected');
    expect((await a.get(waiting.clientId))?.state).toBe('handshaking');
    expect(claimed(await a.claim({ ...kept, socketId: 's2' })).outcome).toBe('swapped');
    expect((await a.counts()).total).toBe(2);
  });

  it('should make createClusterSupervisor() reject KEY_LAYOUT_MISMATCH at start', async () => {
    await context.admin.hSet(`{${context.prefix}}:schema`, { layout: '2', partitions: '256' });
    await expect(
      createClusterSupervisor({ redis: redis(), keyPrefix: context.prefix, nodeId: 'a' }),
    ).rejects.toMatchObject({
      name: 'SupervisorError',
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining('key layout 2 with 256 partition(s)'),
    });
  });
});
