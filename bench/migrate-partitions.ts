// npm run bench:migrate -- [--clients 20000] [--partitions 256]
//
// How long the offline migration to partitions (`migrateToPartitions`) takes on one redis-server:
// N clients written by a layout-2 store (half connected, a quarter disconnected with a two-message
// outbox, a quarter handshaking with a 150-byte data), the store closed, then migrated. Prints
// clients/s and Redis CPU (INFO cpu) per client.
import { createClient } from 'redis';
import { migrateToPartitions } from '../src/cluster/redis/migrate.js';
import { RedisClusterStore } from '../src/cluster/redis/RedisClusterStore.js';
import { startRedisServer } from '../test/cluster/redisServer.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const clients = arg('clients', 20_000);
const partitions = arg('partitions', 256);

const server = await startRedisServer();
const admin = createClient({ url: server.url });
await admin.connect();
const cpu = async () => {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
};
try {
  const store = await RedisClusterStore.connect({ redis: server.url, nodeId: 'bench', nodeTtl: 60_000 });
  await store.join();
  const started = Date.now();
  for (let i = 0; i < clients; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, clients - i) }, async (_, j) => {
        const n = i + j;
        const registered = await store.register({ data: n % 4 === 3 ? { n, note: 'x'.repeat(150) } : { n } });
        if (registered.outcome !== 'registered' || n % 4 === 3) return;
        const { clientId, token } = registered;
        const claim = await store.claim({ clientId, token, socketId: `s${n}` });
        if (!('client' in claim) || n % 4 < 2) return;
        for (const emitId of ['e1', 'e2']) {
          await store.emit({ clientId, emitId, payload: '["news",{"n":1}]', maxMessages: 100, maxBytes: 100_000 });
        }
        await store.disconnect({ clientId, socketId: `s${n}`, fence: claim.client.fence });
      }),
    );
  }
  process.stderr.write(`bench:migrate: ${clients} clients written in ${Date.now() - started} ms\n`);
  await store.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = await cpu();
  const t0 = process.hrtime.bigint();
  const summary = await migrateToPartitions({
    redis: server.url,
    partitions,
    nodeTtl: 100,
    batchSize: arg('batch', 500),
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const used = (await cpu()) - before;
  process.stdout.write(
    `${JSON.stringify({ clients: summary.clients, partitions, ms: Math.round(ms), clientsPerSecond: Math.round((summary.clients / ms) * 1000), redisCpuUsPerClient: Math.round((used * 1e6) / summary.clients) })}\n`,
  );
} finally {
  admin.destroy();
  await server.dispose();
}
