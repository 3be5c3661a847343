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
  keys: [
    'the live nodes ({P}:nodes)',
    'its node hash ({P}:node:<nodeId>)',
    'the owned set of its incarnation ({P}:owned:<nodeId>:<inc>)',
    'the deletions of its incarnation ({P}:dels:<nodeId>:<inc>)',
    'the incarnations to reap ({P}:reaping)',
    'the orphaned deletions ({P}:orphans)',
    'the deadlines ({P}:deadlines)',
    'the connected and disconnected sets ({P}:state:<state>), two keys',
    'the cluster meta hash ({P}:meta); discovered: the records and data keys of the clients released, the journal entries of its deletions',
  ],
  argv: ['nodeId', 'inc', 'reconnectTimeout (ms)', 'limit: clients per call'],
  reply: `{'left' | 'more', released} | {'NODE_FENCED'}`,
  uses: ['decimal', 'discover', 'nodeStatus', 'release', 'incarnationKeys', 'endIncarnation'],
  body: `
local nodeId, inc, rt, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local status = nodeStatus(nodeId, inc)
-- a leave whose reply was lost, sent again
if status == 'left' then return {'left', '0'} end
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED'} end
local owner = nodeId .. ':' .. inc
local owned = k('owned', nodeId, inc)
-- every key this call may touch, read before its first write
local ids = redis.call('SRANDMEMBER', owned, limit)
for _, id in ipairs(ids) do discover(k('c', id), k('x', id)) end
if redis.call('SCARD', owned) <= #ids then incarnationKeys(nodeId, inc) end
if status == 'alive' then redis.call('HSET', k('node', nodeId), 'state', 'leaving') end
local released = 0
for _, id in ipairs(ids) do
  redis.call('SREM', owned, id)
  released = released + release(id, owner, rt)
end
if redis.call('SCARD', owned) > 0 then return {'more', s(released)} end
endIncarnation(nodeId, inc, 'left')
return {'left', s(released)}
`,
});
