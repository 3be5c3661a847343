import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
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
