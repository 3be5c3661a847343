import { defineScript } from './defineScript.js';

/** A rolling-deploy leave, a batch at a time. */
export const leaveScript = defineScript({
  name: 'leave',
  does: `A rolling-deploy close, limit clients per call. The first call marks the incarnation
'leaving' (it takes no new client; its disconnects and hooks still count). Its clients are
released: a connected one becomes disconnected with a grace period, all become unowned, fences
raised. Nothing is deleted. Once none is left the incarnation is 'left'; deletions it did not
complete become orphans for another node. Once left, the same call answers 'left' again (a leave
whose reply was lost is safe to repeat).`,
  keys: ['the live nodes ({P}:nodes)'],
  argv: ['nodeId', 'inc', 'reconnectTimeout (ms)', 'limit: clients per call'],
  reply: `{'left' | 'more', released} | {'NODE_FENCED'}`,
  uses: ['decimal', 'nodeStatus', 'release', 'endIncarnation'],
  body: `
local nodeId, inc, rt, limit = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local status = nodeStatus(nodeId, inc)
-- a leave whose reply was lost, sent again
if status == 'left' then return {'left', '0'} end
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED'} end
if status == 'alive' then redis.call('HSET', k('node', nodeId), 'state', 'leaving') end
local owner = nodeId .. ':' .. inc
local owned = k('owned', nodeId, inc)
local released = 0
for _, id in ipairs(redis.call('SPOP', owned, limit)) do released = released + release(id, owner, rt) end
if redis.call('SCARD', owned) > 0 then return {'more', s(released)} end
endIncarnation(nodeId, inc, 'left')
return {'left', s(released)}
`,
});
