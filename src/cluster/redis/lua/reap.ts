import { defineScript } from './defineScript.js';

/** Dead nodes declared, their clients released, their deletions redelivered: run by every live node. */
export const reapScript = defineScript({
  name: 'reap',
  does: `Declares dead each other node whose heartbeat is older than nodeTtl (after the outage check,
so an outage never kills anyone), then, limit at a time: releases the clients of dead incarnations
(a connected one becomes disconnected with a fresh grace period; all become unowned, fences raised)
and takes over orphaned deletions (of dead or departed incarnations), which come back with
redelivered = 1 for this node to run onDelete again with the same deletion id. During a recovery
after a rollback (see the stale and recoverStep fragments) it releases and redelivers nothing: it
runs the recovery's step instead (dropped: clients no live node holds, removed without a hook). A
stale view (reset or rollback, see stale) answers NODE_FENCED: the node's heartbeat tells which.`,
  keys: ['the live nodes ({P}:nodes)'],
  argv: [
    'nodeId',
    'inc',
    'nodeTtl (ms)',
    'reconnectTimeout (ms)',
    'gapMs: the outageGap (ms)',
    'limit: clients and deletions per call',
    'epoch: the one the node joined',
    "seen: the write counter its last acknowledged heartbeat answered ('' for none)",
    "highest: the highest write counter any reply answered it since it joined ('' for none)",
  ],
  reply: `{'ok', {declared dead node...}, released, more ('1' when work is left), {entry...}, dropped}
| {'NODE_FENCED'}: entries in DELETION_FIELDS order`,
  uses: [
    'decimal',
    'time',
    'nodeStatus',
    'deletionFields',
    'release',
    'endIncarnation',
    'tick',
    'stale',
    'recoverStep',
  ],
  body: `
local nodeId, inc, nodeTtl, rt = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local gapMs, limit = tonumber(ARGV[6]), tonumber(ARGV[7])
if stale(nodeId, ARGV[8], ARGV[9], ARGV[10]) then return {'NODE_FENCED'} end
if nodeStatus(nodeId, inc) ~= 'alive' then return {'NODE_FENCED'} end
tick(gapMs)
local declared = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', k('nodes'), '-inf', '(' .. s(nowMs - nodeTtl))) do
  if n ~= nodeId then
    local v = redis.call('HMGET', k('node', n), 'inc', 'state')
    if v[1] and (v[2] == 'alive' or v[2] == 'leaving') then
      endIncarnation(n, v[1], 'dead')
      table.insert(declared, n)
    else
      -- not a live incarnation (should not be listed): just drop it
      redis.call('ZREM', k('nodes'), n)
    end
  end
end
local recovery = recoverStep(nodeTtl, limit)
if recovery then return {'ok', declared, '0', s(recovery[2]), {}, s(recovery[1])} end
local budget = limit
local released = 0
for _, owner in ipairs(redis.call('SMEMBERS', k('reaping'))) do
  if budget <= 0 then break end
  local owned = k('owned', owner)
  for _, id in ipairs(redis.call('SPOP', owned, budget)) do
    released = released + release(id, owner, rt)
    budget = budget - 1
  end
  if redis.call('SCARD', owned) == 0 then
    redis.call('SREM', k('reaping'), owner)
    local n, i = string.match(owner, '^(.*):([^:]*)$')
    if n then forgetNode(n, i) end
  end
end
local redelivered = {}
for _, did in ipairs(redis.call('SPOP', k('orphans'), limit)) do
  local d = k('d', did)
  if redis.call('EXISTS', d) == 1 then
    redis.call('HSET', d, 'node', nodeId, 'inc', inc, 'redelivered', '1')
    redis.call('HINCRBY', d, 'attempts', 1)
    redis.call('SADD', k('dels', nodeId, inc), did)
    table.insert(redelivered, redis.call('HMGET', d, unpack(DEL)))
  end
end
local more = '0'
if redis.call('SCARD', k('reaping')) > 0 or redis.call('SCARD', k('orphans')) > 0 then more = '1' end
return {'ok', declared, s(released), more, redelivered, '0'}
`,
});
