/**
 * `socket.io-supervisor/cluster`: cluster mode on Redis (docs/design.md, "Cluster mode").
 * Needs the optional peer `redis` (node-redis 6); the package's main entry never imports this.
 */

export { hashToken, randomId } from '../core/ids.js';
export type { ClientSnapshot } from '../core/types.js';
export type { ClusterSupervisorOptions } from './clusterOptions.js';
export type {
  ClusterClientView,
  ClusterEvent,
  ClusterHookContext,
  ClusterHooks,
  ClusterListOptions,
  ClusterListPage,
  ClusterSupervisor,
  LostWhy,
} from './clusterTypes.js';
export { type ClusterLogger, clusterClientOptions, type NodeRedisClient } from './connection.js';
export { createClusterSupervisor } from './createClusterSupervisor.js';
export type { ClusterChannel } from './delivery.js';
export { type ClusterKeys, clusterKeys } from './keys.js';
export { defaultClusterStoreOptions, type RedisClusterStoreOptions } from './options.js';
export { RedisClusterStore } from './RedisClusterStore.js';
export type {
  AckResult,
  ClaimRejectCode,
  ClaimResult,
  ClusterClientRecord,
  ClusterCounts,
  ClusterNode,
  ClusterNotice,
  DeleteResult,
  Deletion,
  DisconnectResult,
  EmitResult,
  HeartbeatResult,
  JoinResult,
  ListFilter,
  ListPage,
  NodeIncarnation,
  OutboxCounters,
  OutboxRead,
  OutboxSummary,
  OwnedClient,
  QueuedMessage,
  ReapResult,
  RegisterResult,
  RestoreInput,
  RestoreOutcome,
  SweepResult,
} from './types.js';
