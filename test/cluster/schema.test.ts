import { describe, expect, it } from 'vitest';
import { createClusterSupervisor } from '../../src/cluster/index.js';
import { KEY_LAYOUT } from '../../src/cluster/redis/keys.js';
import { claimed, connectedClient, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

// The key layout Redis was written by (`{prefix}:schema`), checked at every join (issue 20): a
// node never joins a Redis of another layout or partition count, and writes nothing to it. This
// release is layout 2 (a long `data` in its own key); it upgrades a Redis of layout 1 once no node
// of layout 1 is live there, since a node of layout 1 would read a record without its `data`.

describe('the key layout (schema) at join', () => {
  // one partition on the Redis Cluster too: this file is about key layout 2's own schema (its exact
  // keys under `{prefix}`, the upgrade from layout 1, which had no partitions); layout 3's schema
  // and its refusals are partitions.test.ts's and migrate.test.ts's
  const { context, node, store, redis } = useRedis({}, { partitions: 1 });
  const schema = () => context.admin.hGetAll(`{${context.prefix}}:schema`);

  it('should write the layout at the first join of a fresh Redis, and join a Redis of the same layout', async () => {
    expect(await schema()).toEqual({});
    const a = await node('a');
    expect(await schema()).toEqual({ layout: String(KEY_LAYOUT.layout), partitions: String(KEY_LAYOUT.partitions) });
    expect(KEY_LAYOUT).toEqual({ layout: 2, partitions: 1, upgradesFrom: 1 });
    const client = await connectedClient(a);
    // another node, and a rejoin of the first, find the same layout
    const b = await node('b');
    expect(claimed(await b.claim({ ...client, socketId: 's2' })).outcome).toBe('swapped');
    expect((await a.join()).incarnation).toBe(2);
    expect(await schema()).toEqual({ layout: '2', partitions: '1' });
  });

  it.each([
    { layout: '3', partitions: '1', named: 'key layout 3 with 1 partition(s)' },
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
      expect(message).toContain('this release uses layout 2 with 1');
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

  /** Makes `nodeId`'s heartbeat older than nodeTtl (10 s here): a node killed without closing. */
  const silence = (nodeId: string) =>
    context.admin.zAdd(`{${context.prefix}}:nodes`, { score: Date.now() - 60_000, value: nodeId });

  it.each([
    {
      written: 'layout 1',
      setUp: () => context.admin.hSet(`{${context.prefix}}:schema`, { layout: '1', partitions: '1' }),
    },
    { written: 'a release before the schema key', setUp: () => context.admin.del(`{${context.prefix}}:schema`) },
  ])(
    'should upgrade a Redis of $written to layout 2 once its nodes left, keeping its clients (records of layout 1 are valid)',
    async ({ setUp }) => {
      // a cluster of layout 1: the same keys, every data in its record
      const old = await node('old');
      const kept = await connectedClient(old);
      const waiting = registered(await old.register({ data: { pad: 'x'.repeat(100) } }));
      await context.admin.hSet(
        `{${context.prefix}}:c:${waiting.clientId}`,
        'data',
        JSON.stringify({ pad: 'x'.repeat(100) }),
      );
      await context.admin.del(`{${context.prefix}}:x:${waiting.clientId}`);
      await setUp();
      expect(await old.leave()).toMatchObject({ outcome: 'left' });

      const a = await node('a');
      expect(await schema()).toEqual({ layout: '2', partitions: '1' });
      expect((await a.get(kept.clientId))?.state).toBe('disconnected');
      expect(await a.get(waiting.clientId)).toMatchObject({ state: 'handshaking', data: { pad: 'x'.repeat(100) } });
      expect(claimed(await a.claim({ ...kept, socketId: 's2' })).outcome).toBe('reconnected');
      expect((await a.counts()).total).toBe(2);
    },
  );

  it.each([{ state: 'alive' }, { state: 'leaving' }])(
    'should refuse to upgrade a Redis of layout 1 while a node of it is live ($state), writing nothing: KEY_LAYOUT_MISMATCH',
    async ({ state }) => {
      const old = await node('old');
      const kept = await connectedClient(old);
      await context.admin.hSet(`{${context.prefix}}:schema`, { layout: '1', partitions: '1' });
      await context.admin.hSet(`{${context.prefix}}:node:old`, 'state', state);
      const keys = (await context.admin.keys(`{${context.prefix}}:*`)).sort();

      const a = await store({ nodeId: 'a' });
      const refused = await a.join().catch((error: unknown) => error);
      expect(refused).toMatchObject({ name: 'SupervisorError', code: 'KEY_LAYOUT_MISMATCH' });
      const message = (refused as Error).message;
      expect(message).toContain('key layout 1');
      expect(message).toContain('node "old" of that layout is live');
      expect(message).toContain('this release uses layout 2');
      expect(message).toContain('needs the old nodes stopped first');
      expect(a.incarnation).toBeNull();
      // nothing written but the write counter: the old node serves on
      expect((await context.admin.keys(`{${context.prefix}}:*`)).sort()).toEqual(keys);
      expect(await schema()).toEqual({ layout: '1', partitions: '1' });
      expect(await old.heartbeat()).toMatchObject({ outcome: 'ok' });
      expect((await old.get(kept.clientId))?.state).toBe('connected');
    },
  );

  it('should upgrade a Redis of layout 1 whose nodes were killed (heartbeat older than nodeTtl): they are ended as dead, their clients released', async () => {
    const old = await node('old', { nodeTtl: 10_000 });
    const kept = await connectedClient(old);
    await context.admin.hSet(`{${context.prefix}}:schema`, { layout: '1', partitions: '1' });
    await silence('old');

    const a = await node('a', { nodeTtl: 10_000 });
    expect(await schema()).toEqual({ layout: '2', partitions: '1' });
    expect(await context.admin.hGet(`{${context.prefix}}:node:old`, 'state')).toBe('dead');
    // a late heartbeat of the old node is fenced (its rejoin would be refused by its own check)
    expect(await old.heartbeat()).toEqual({ outcome: 'node-fenced' });
    expect(await a.reap()).toMatchObject({ outcome: 'reaped', released: 1 });
    expect(await a.get(kept.clientId)).toMatchObject({ state: 'disconnected', node: null });
    expect(claimed(await a.claim({ ...kept, socketId: 's2' })).outcome).toBe('reconnected');
  });

  it('should refuse a node of layout 1 at a Redis of layout 2 (its join sends layout 1, upgrading none), writing nothing', async () => {
    await node('b');
    expect(await schema()).toEqual({ layout: '2', partitions: '1' });
    const a = await store({ nodeId: 'a' });
    // the join of a node of layout 1: its layout in the arguments of the join script
    const runner = (
      a as unknown as { runner: { run: (s: { name: string }, k: string[], v: string[]) => Promise<unknown> } }
    ).runner;
    const run = runner.run.bind(runner);
    runner.run = (script, keys, args) =>
      run(script, keys, script.name === 'join' ? [...args.slice(0, 4), '1', '1', ''] : args);
    const refused = await a.join().catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining('key layout 2 with 1'),
    });
    expect(await context.admin.exists(`{${context.prefix}}:node:a`)).toBe(0);
    expect(await schema()).toEqual({ layout: '2', partitions: '1' });
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

  it('should make createClusterSupervisor() reject KEY_LAYOUT_MISMATCH at start while a node of layout 1 is live', async () => {
    await node('old');
    await context.admin.hSet(`{${context.prefix}}:schema`, { layout: '1', partitions: '1' });
    await expect(
      createClusterSupervisor({ redis: redis(), keyPrefix: context.prefix, nodeId: 'a' }),
    ).rejects.toMatchObject({
      name: 'SupervisorError',
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining('node "old" of that layout is live'),
    });
    expect(await schema()).toEqual({ layout: '1', partitions: '1' });
  });
});
