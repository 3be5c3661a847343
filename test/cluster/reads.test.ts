import { describe, expect, it } from 'vitest';
import type { ClusterClientRecord, ClusterListOptions as ListFilter } from '../../src/cluster/redis/records.js';
import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { connectedClient, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

async function listAll(store: RedisClusterStore, filter: ListFilter) {
  const clients: ClusterClientRecord[] = [];
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...filter, cursor });
    clients.push(...page.clients);
    pages += 1;
    cursor = page.cursor ?? undefined;
  } while (cursor !== undefined);
  return { clients, pages };
}

describe('cluster-wide reads', () => {
  const { node } = useRedis();

  it('should get a client from any node, without its token or token hash', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, client } = await connectedClient(a);
    const seen = await b.get(clientId);
    expect(seen).toEqual(client);
    expect(Object.keys(seen!).sort()).toEqual(
      [
        'clientId',
        'connectedAt',
        'createdAt',
        'data',
        'disconnectedAt',
        'expiresAt',
        'fence',
        'generation',
        'incarnation',
        'node',
        'socketId',
        'state',
        'tabId',
      ].sort(),
    );
    expect(await b.get('AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
  });

  it('should count clients by state across nodes, and live nodes', async () => {
    const a = await node('a');
    const b = await node('b');
    registered(await a.register());
    const { clientId, fence } = await connectedClient(b);
    await connectedClient(a, 'sock-2');
    await b.disconnect({ clientId, socketId: 'sock-1', fence });
    expect(await a.counts()).toEqual({ handshaking: 1, connected: 1, disconnected: 1, total: 3, nodes: 2 });
  });

  it('should list every client exactly once across pages, by state and by node', async () => {
    const a = await node('a');
    const b = await node('b');
    // more than Redis keeps in a compact set, so SSCAN really pages
    const onA = await Promise.all(Array.from({ length: 200 }, () => a.register().then(registered)));
    const onB = await Promise.all(Array.from({ length: 150 }, (_, i) => connectedClient(b, `s${i}`)));
    const all = await listAll(a, { limit: 40 });
    expect(all.pages).toBeGreaterThan(2);
    expect(all.clients.map((c) => c.clientId).sort()).toEqual(
      [...onA.map((c) => c.clientId), ...onB.map((c) => c.clientId)].sort(),
    );
    const connected = await listAll(a, { state: 'connected', limit: 40 });
    expect(connected.clients.map((c) => c.clientId).sort()).toEqual(onB.map((c) => c.clientId).sort());
    expect(connected.clients.every((c) => c.state === 'connected' && c.node === 'b')).toBe(true);
    const ofA = await listAll(b, { node: 'a', limit: 40 });
    expect(ofA.clients.map((c) => c.clientId).sort()).toEqual(onA.map((c) => c.clientId).sort());
    expect(await listAll(b, { node: 'a', state: 'connected', limit: 40 })).toMatchObject({ clients: [] });
    expect(await a.list({ node: 'nobody' })).toEqual({ clients: [], cursor: null });
  });

  it('should refuse a bad filter', async () => {
    const a = await node('a');
    await expect(a.list({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.list({ state: 'deleted' as 'connected' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
