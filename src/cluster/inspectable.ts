import { type InspectedClient, inspectableOf, registerInspectable } from '../core/inspectable.js';
import type { Supervisor } from '../createSupervisor.js';
import type { ClusterSupervisor } from './clusterTypes.js';

/** The most clients one inspector snapshot reads from Redis (pages of 500). */
const MAX_LISTED = 50_000;

/**
 * What the inspector and the metrics read of a cluster node: the whole cluster's clients and
 * counts from Redis, with their node and fence, and this node's own events, counters and hook
 * timings (from its core supervisor).
 */
export function registerClusterInspectable<TData>(node: ClusterSupervisor<TData>, core: Supervisor<TData>): void {
  const local = inspectableOf(core);
  registerInspectable(node, {
    ...local,
    cluster: true,
    nodeId: node.nodeId,
    async list() {
      const clients: InspectedClient[] = [];
      let cursor: string | undefined;
      do {
        const page = await node.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }) });
        clients.push(...page.clients);
        cursor = page.cursor ?? undefined;
      } while (cursor !== undefined && clients.length < MAX_LISTED);
      return clients;
    },
    get: (clientId) => node.get(clientId),
    counts: () => node.counts(),
    localCounts: () => node.localCounts(),
    async nodes() {
      return (await node.nodes()).map(({ node: id, incarnation, state, clients, heartbeatAt }) => ({
        node: id,
        incarnation,
        state,
        clients,
        heartbeatAt,
      }));
    },
    delete: (clientId, reason) => node.delete(clientId, reason),
    prune: () => node.prune(),
  });
}
