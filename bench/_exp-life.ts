import { createClient, createCluster } from 'redis';
import { startRedisCluster } from '../test/cluster/redisCluster.js';
import { startRedisServer } from '../test/cluster/redisServer.js';
import { RedisClusterStore } from '../dist/cluster/redis/RedisClusterStore.js';
import { clusterClientOptions } from '../dist/cluster/redis/connection.js';

const N = Number(process.argv[2] ?? 3000);
const cluster = await startRedisCluster({ masters: 3 });
const single = await startRedisServer();
const connect = async (url: string) => { const c = createClient({ url }); await c.connect(); return c; };
const probes = await Promise.all(cluster.urls.map(connect));
const sprobe = await connect(single.url);
const cpuOf = async (ps: typeof probes) => Promise.all(ps.map(async (p) => { const info = await p.info('cpu'); const m = /used_cpu_sys:([\d.]+)[\s\S]*used_cpu_user:([\d.]+)/.exec(info)!; return Number(m[1]) + Number(m[2]); }));
const { url: _u, ...defaults } = clusterClientOptions(cluster.urls[0]!, 10_000);
const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults });
client.on('error', () => {});
await client.connect();
let run = 0;
async function measure(label: string, redis: unknown, ps: typeof probes, partitions: number) {
  run += 1;
  const store = await RedisClusterStore.connect({ redis: redis as never, keyPrefix: `x${run}`, nodeId: 'n', partitions, commandTimeout: 10_000 });
  await store.join();
  const c0 = await cpuOf(ps);
  const ids: Array<{ clientId: string; token: string }> = [];
  for (let i = 0; i < N; i += 250) {
    const batch = await Promise.all(Array.from({ length: Math.min(250, N - i) }, () => store.register()));
    for (const r of batch) if (r.outcome === 'registered') ids.push({ clientId: r.clientId, token: r.token });
  }
  const c1 = await cpuOf(ps);
  for (let i = 0; i < ids.length; i += 250) {
    await Promise.all(ids.slice(i, i + 250).map((c, j) => store.claim({ ...c, socketId: `s${i + j}` })));
  }
  const c2 = await cpuOf(ps);
  const hs = c0.map((x, i) => ((c2[i]! - x) * 1e6) / N);
  console.log(`${label}: handshake (register+claim) per master ${hs.map((x) => x.toFixed(1)).join(' · ')} µs; busiest ${Math.max(...hs).toFixed(1)}, all ${hs.reduce((a, b) => a + b, 0).toFixed(1)}`);
  await store.close();
  return Math.max(...hs);
}
for (let r = 0; r < 3; r++) {
  const one = await measure('1 Redis', single.url, [sprobe], 1);
  const c1 = await measure('cluster P=1', client, probes, 1);
  const c256 = await measure('cluster P=256', client, probes, 256);
  console.log(`  ceiling ratios vs 1 Redis: P=1 ${(one / c1).toFixed(2)}×, P=256 ${(one / c256).toFixed(2)}×`);
}
await client.close();
for (const p of [...probes, sprobe]) await p.quit();
await cluster.stop();
await single.dispose();
