import { defineLua } from './prelude.js';

/**
 * restore(nodeId, inc, clientId, tokenHash, ...snapshot, fence, seq) → 'restored' | 'kept' | 'deleted' | 'NODE_FENCED'
 *
 * After Redis lost its data (heartbeat answered `RESET`), each node rewrites the live clients
 * it holds, owned by its new incarnation, at the fence it knows. `kept`: Redis already holds the
 * client at this fence or a higher one (another node restored a newer view). `deleted`: a
 * tombstone says it was deleted meanwhile. Fences keep rising from there (see nextFence).
 * The outbox is gone with the data: its sequence restarts from `seq` (the last number the node
 * knows of), all acknowledged, so the page, told where its stream resumes, takes the next message
 * as the next one rather than one it already had.
 */
export const restoreLua = defineLua(
  'restore',
  `
local nodeId, inc, id, th = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local state, sid, tab, createdAt, connectedAt = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local disconnectedAt, exp, generation, data, fence = ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15]
local seq = ARGV[16] or '0'
local rec = KEYS[1]
if nodeStatus(nodeId, inc) ~= 'alive' then return 'NODE_FENCED' end
if redis.call('EXISTS', k('t', id)) == 1 then return 'deleted' end
local r = read(rec)
if r then
  if tonumber(r.fence) >= tonumber(fence) then return 'kept' end
  moveState(id, r.state, nil)
  moveOwner(id, r.node, r.inc, '', '')
  redis.call('ZREM', k('deadlines'), id)
end
redis.call('HSET', rec, 'tokenHash', th, 'state', state, 'socketId', sid, 'lastSocketId', '', 'tabId', tab,
  'createdAt', createdAt, 'connectedAt', connectedAt, 'disconnectedAt', disconnectedAt, 'expiresAt', exp,
  'generation', generation, 'data', data, 'node', nodeId, 'inc', inc, 'fence', fence,
  'seq', seq, 'acked', seq, 'obytes', '0', 'oldestAt', '')
redis.call('DEL', k('o', id), k('e', id))
moveState(id, nil, state)
moveOwner(id, '', '', nodeId, inc)
if exp ~= '' then redis.call('ZADD', k('deadlines'), exp, id) end
return 'restored'
`,
);
