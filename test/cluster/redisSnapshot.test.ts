import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { startRedisServer } from './redisServer.js';

// The rollback harness: Redis restarted from an older persisted snapshot (RDB, or the AOF
// directory) comes back with the data of that moment, on the same port and dir.

describe('redis-server restarted from an older snapshot', () => {
  for (const appendonly of [false, true]) {
    it(`should come back with the data of the snapshot (${appendonly ? 'AOF' : 'RDB'})`, async () => {
      const server = await startRedisServer({ appendonly, appendfsync: 'always' });
      const admin = createClient({ url: server.url, socket: { reconnectStrategy: 50 } });
      admin.on('error', () => {});
      try {
        await admin.connect();
        await admin.set('kept', '1');
        await admin.set('changed', 'old');
        const snapshot = await server.snapshot();
        expect(snapshot.kind).toBe(appendonly ? 'aof' : 'rdb');
        await admin.set('changed', 'new');
        await admin.set('added', '1');
        await admin.del('kept');
        await server.restartFrom(snapshot);
        const port = server.port;
        // same port: the client reconnects by itself
        for (let i = 0; i < 100 && !admin.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await admin.mGet(['kept', 'changed', 'added'])).toEqual(['1', 'old', null]);
        expect(server.port).toBe(port);
        // a second rollback to the same snapshot works too
        await admin.set('added', '2');
        await server.restartFrom(snapshot);
        for (let i = 0; i < 100 && !admin.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await admin.get('added')).toBeNull();
      } finally {
        admin.destroy();
        await server.dispose();
      }
    });
  }
});
