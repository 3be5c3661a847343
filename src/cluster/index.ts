/**
 * `socket.io-supervisor/cluster`: cluster mode on Redis (docs/design.md, "Cluster mode"): what an
 * application uses. Needs the optional peer `redis` (node-redis 6); the package's main entry never
 * imports this. The Redis layer (`./redis/`) stays internal.
 */

export type { ClusterEvent, LostWhy } from './clusterEvents.js';
export type { ClusterHookContext, ClusterHooks } from './clusterHooks.js';
export type { ClusterSupervisorOptions } from './clusterOptions.js';
export type { ClusterChannel, ClusterSupervisor } from './clusterSupervisor.js';
export { createClusterSupervisor } from './createClusterSupervisor.js';
export type { ClusterHealth, ClusterNodeHealth } from './health.js';
export { clusterClientOptions, type NodeRedisClient } from './redis/connection.js';
export type { ClusterCounts, ClusterNode } from './redis/records.js';
export type { ClusterClientView, ClusterListFilter, ClusterListOptions, ClusterListPage } from './redis/records.js';
export { defaultClusterOptions } from './redis/storeOptions.js';
export {
  type MigrateToPartitionsOptions,
  type MigrationSummary,
  migrateToPartitions,
} from './redis/migrate.js';
