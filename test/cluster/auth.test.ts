import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterSupervisor } from '../../src/cluster/index.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// Issue 19: credentials Redis refuses are a configuration error at start, named after Redis's own
// reply (NOAUTH, WRONGPASS), not an outage (`UNAVAILABLE (connect)`) after commandTimeout.

describe('Redis refusing the credentials', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.configSet('requirepass', 's3cret');
    admin.destroy();
  });
  afterAll(async () => {
    await redis?.dispose();
  });
  const withPassword = (password: string) => redis.url.replace('redis://', `redis://:${password}@`);

  it('should reject a missing password at once with REDIS_AUTH naming NOAUTH', async () => {
    const started = Date.now();
    await expect(
      createClusterSupervisor({ redis: redis.url, nodeId: 'a', commandTimeout: 5000 }),
    ).rejects.toMatchObject({
      name: 'SupervisorError',
      code: 'REDIS_AUTH',
      message: expect.stringMatching(/NOAUTH.*password/),
    });
    // not after the connect timeout, as an outage would be
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('should reject a wrong password with REDIS_AUTH naming WRONGPASS', async () => {
    await expect(
      RedisClusterStore.connect({ redis: withPassword('wrong'), nodeId: 'a', commandTimeout: 5000 }),
    ).rejects.toMatchObject({ code: 'REDIS_AUTH', message: expect.stringContaining('WRONGPASS') });
  });

  it('should start with the right password', async () => {
    const node = await createClusterSupervisor({ redis: withPassword('s3cret'), nodeId: 'a' });
    expect(node.incarnation).toBe(1);
    await node.close();
  });
});
