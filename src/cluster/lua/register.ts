import { defineLua } from './prelude.js';

/**
 * register(clientId, tokenHash, tabId, data, nodeId, inc, handshakeTimeout) → {outcome, snapshot}
 *
 * Creates a handshaking client owned by the registering incarnation, its handshake deadline in
 * `{P}:deadlines`. Idempotent per client id and token: a replay (same token hash) returns the
 * record as it is now. `ID_TAKEN`: the id exists with another token, or was deleted (ids are never
 * reused). `NODE_FENCED`: the incarnation is not alive.
 */
export const registerLua = defineLua(
  'register',
  `
local id, th, tab, data, nodeId, inc, ht = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local rec = KEYS[1]
if nodeStatus(nodeId, inc) ~= 'alive' then return {'NODE_FENCED'} end
local existing = redis.call('HGET', rec, 'tokenHash')
if existing then
  if existing == th then return {'replay', flat(read(rec))} end
  return {'ID_TAKEN'}
end
if redis.call('EXISTS', k('t', id)) == 1 then return {'ID_TAKEN'} end
local exp = nowMs + ht
redis.call('HSET', rec, 'tokenHash', th, 'state', 'handshaking', 'socketId', '', 'lastSocketId', '', 'tabId', tab,
  'createdAt', s(nowMs), 'connectedAt', '', 'disconnectedAt', '', 'expiresAt', s(exp), 'generation', '0',
  'data', data, 'node', nodeId, 'inc', inc, 'fence', s(nextFence(0)))
redis.call('ZADD', k('deadlines'), s(exp), id)
moveState(id, nil, 'handshaking')
moveOwner(id, '', '', nodeId, inc)
return {'registered', flat(read(rec))}
`,
);
