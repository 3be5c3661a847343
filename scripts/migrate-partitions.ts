// npm run migrate:partitions -- --redis <url> [--prefix sup] --partitions <P> [--dry-run]
// [--cluster] [--node-ttl 10000] [--batch 500] [--progress-every 10000]
//
// The offline migration of a cluster's keys from key layout 2 (or 1) to the partitioned layout 3
// (docs/partitions.md, "Migration from `{sup}`"): stop every node first. Progress on stderr, the
// summary on stdout (JSON); exit code 1 when refused or failed (run it again: it resumes), 2 on a
// usage error.
import { parseArgs } from 'node:util';
import { createCluster } from 'redis';
import { clusterClientOptions, migrateToPartitions, type NodeRedisClient } from '../src/cluster/index.js';

const usage =
  'usage: npm run migrate:partitions -- --redis <url> [--prefix sup] --partitions <P> [--dry-run] [--cluster] [--node-ttl ms] [--batch n] [--progress-every n]';

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      redis: { type: 'string' },
      prefix: { type: 'string', default: 'sup' },
      partitions: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      'node-ttl': { type: 'string', default: '10000' },
      batch: { type: 'string', default: '500' },
      'progress-every': { type: 'string', default: '10000' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
}
try {
  ({ values } = parse());
} catch (error) {
  fail(`${(error as Error).message}\n${usage}`, 2);
}
if (values.help) fail(usage, 0);
if (!values.redis || !values.partitions) fail(`--redis and --partitions are required\n${usage}`, 2);

const every = Number(values['progress-every']);
let next = every;
const started = Date.now();
let cluster: ReturnType<typeof createCluster> | undefined;
try {
  let redis: string | NodeRedisClient = values.redis;
  if (values.cluster) {
    const { url: _url, ...defaults } = clusterClientOptions(values.redis, 5_000);
    cluster = createCluster({ rootNodes: [{ url: values.redis }], defaults });
    cluster.on('error', () => {});
    await cluster.connect();
    redis = cluster as unknown as NodeRedisClient;
  }
  const summary = await migrateToPartitions({
    redis,
    keyPrefix: values.prefix,
    partitions: Number(values.partitions),
    nodeTtl: Number(values['node-ttl']),
    batchSize: Number(values.batch),
    commandTimeout: 5_000,
    dryRun: values['dry-run'],
    onProgress: (progress) => {
      if (progress.clients < next) return;
      while (next <= progress.clients) next += every;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(
        `migrate:partitions: ${progress.clients} clients, ${progress.deletions} deletions, ${progress.tombstones} tombstones (${seconds} s)\n`,
      );
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `migrate:partitions: ${summary.dryRun ? 'dry run, would move' : 'done, moved'} ${summary.clients} clients (${summary.records} records, ${summary.tombstones} tombstones, ${summary.messages} outbox messages) and ${summary.deletions} deletions into ${summary.partitions} partitions of {${values.prefix}:p<i>} from layout ${summary.from}; ended ${summary.endedIncarnations.length} silent incarnation(s), ${summary.strays} stray index entries, in ${seconds} s${summary.dryRun ? '' : `; start the nodes with partitions: ${summary.partitions}`}\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  await cluster?.close().catch(() => {});
  fail(`migrate:partitions: ${(error as Error).message}`, 1);
}
await cluster?.close().catch(() => {});
