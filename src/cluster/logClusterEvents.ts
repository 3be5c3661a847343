import type { Observable, Subscription } from 'rxjs';
import type { Logger } from '../core/types.js';
import type { ClusterEvent } from './clusterEvents.js';

/**
 * Logs what happens to this node in the cluster: what an operator wants in normal operation
 * (joins, leaves, Redis back) at `info`; what went wrong (fenced, lease lost, Redis unreachable, reset or rolled back) at
 * `warn`; per-client detail (clients let go, deletions) at `debug`. Every line carries the event
 * as `event` (its `type` and fields).
 */
export function logClusterEvents(events: Observable<ClusterEvent>, logger: Logger): Subscription {
  return events.subscribe((event) => {
    const line = { event };
    switch (event.type) {
      case 'joined':
        logger.info(line, `socket.io-supervisor/cluster: joined as incarnation ${event.incarnation} (${event.why})`);
        return;
      case 'left':
        logger.info(line, `socket.io-supervisor/cluster: left, releasing ${event.released} clients`);
        return;
      case 'fenced':
        logger.warn(line, `socket.io-supervisor/cluster: fenced: incarnation ${event.incarnation} was declared dead`);
        return;
      case 'lease-lost':
        logger.warn(
          line,
          `socket.io-supervisor/cluster: lease lost: no heartbeat of incarnation ${event.incarnation} acknowledged in time; stopped serving, rejoining once Redis answers`,
        );
        return;
      case 'written-back':
        logger.warn(
          line,
          `socket.io-supervisor/cluster: after a Redis ${event.why}: wrote back ${event.deletions} deletions, removed ${event.removed} records no node holds`,
        );
        return;
      case 'redis-unavailable':
        logger.warn(line, `socket.io-supervisor/cluster: Redis unavailable: ${event.message}`);
        return;
      case 'redis-available':
        logger.info(line, 'socket.io-supervisor/cluster: Redis available again');
        return;
      case 'reset':
        logger.warn(line, 'socket.io-supervisor/cluster: Redis lost its data; writing back the clients held here');
        return;
      case 'restored':
        logger.info(line, `socket.io-supervisor/cluster: restored ${event.restored} clients after a Redis reset`);
        return;
      case 'nodes-dead':
        logger.info(line, `socket.io-supervisor/cluster: declared dead: ${event.nodes.join(', ')}`);
        return;
      default:
        logger.debug(line, `socket.io-supervisor/cluster: ${event.type}`);
    }
  });
}
