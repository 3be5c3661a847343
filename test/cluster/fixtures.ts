import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { isUnavailable } from '../../src/cluster/redis/retry.js';
import type { ClaimResult, RegisterResult } from '../../src/cluster/redis/results.js';

export type Registered = Extract<RegisterResult, { outcome: 'registered' | 'replay' }>;
export type Claimed = Extract<ClaimResult, { client: unknown }>;

export function registered(result: RegisterResult): Registered {
  if (result.outcome !== 'registered' && result.outcome !== 'replay')
    throw new Error(`not registered: ${result.outcome}`);
  return result;
}

export function claimed(result: ClaimResult): Claimed {
  if (!('client' in result)) throw new Error(`not claimed: ${JSON.stringify(result)}`);
  return result;
}

export function isClaimed(result: ClaimResult): result is Claimed {
  return 'client' in result;
}

/** Registers a client on `owner` and connects it there with `socketId`. */
export async function connectedClient(owner: RedisClusterStore, socketId = 'sock-1') {
  const { clientId, token } = registered(await owner.register());
  const claim = claimed(await owner.claim({ clientId, token, socketId }));
  return { clientId, token, fence: claim.client.fence, client: claim.client };
}

/**
 * Claims of every client while a fault runs (a slot move, a failover), alternating two stores round
 * by round, until `stop()` and at least `minRounds` rounds. A claim refused `UNAVAILABLE` is
 * counted; any other error fails the run.
 */
export function claimTraffic(
  [a, b]: readonly [RedisClusterStore, RedisClusterStore],
  clients: ReadonlyArray<{ clientId: string; token: string }>,
  options: {
    minRounds: number;
    /** Between rounds. @default 0 */
    pauseMs?: number;
    onClaim?: (clientId: string, store: RedisClusterStore, fence: number) => void;
  },
) {
  const counts = { answered: 0, unavailable: 0, rounds: 0 };
  let running = true;
  const done = (async () => {
    while (running || counts.rounds < options.minRounds) {
      const round = ++counts.rounds;
      await Promise.all(
        clients.map(async ({ clientId, token }, i) => {
          const store = (i + round) % 2 === 0 ? a : b;
          try {
            const claim = claimed(await store.claim({ clientId, token, socketId: `s${round}-${i}` }));
            options.onClaim?.(clientId, store, claim.client.fence);
            counts.answered += 1;
          } catch (error) {
            if (!isUnavailable(error)) throw error;
            counts.unavailable += 1;
          }
        }),
      );
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  })();
  return {
    /** Ends the traffic after the current round (and `minRounds`); its counts. */
    async stop() {
      running = false;
      await done;
      return counts;
    },
  };
}
