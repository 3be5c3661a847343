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
  keys: [
    'the live nodes ({P}:nodes)',
    'the cluster meta hash ({P}:meta)',
    'the node hash of the caller ({P}:node:<nodeId>)',
    'the incarnations to reap ({P}:reaping)',
    'the orphaned deletions ({P}:orphans)',
    'the clients a recovery drops ({P}:unheld)',
    "the deletions of the caller's incarnation ({P}:dels:<nodeId>:<inc>)",
    'the deadlines ({P}:deadlines)',
    "the handshaking, connected and disconnected sets ({P}:state:<state>), three keys; discovered (before the first write): the overdue nodes' hashes, owned sets, deletions and journal entries; the owned sets, records and data keys of the clients released; the orphaned journal entries taken over; what a recovery step touches (recoverKeys)",
  ],
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
    "mode: '' (one hash tag holds every key), 'g' (the membership of the partitioned layout: it declares nodes dead, queues their incarnations in {P}:reaping for the store to tell every partition, and releases nothing) or 'p' (a partition of it: no tick, partitionStale, and",
    "... the incarnations ended ('<node>:<inc>'): those its copies still hold live are ended in it, their clients released and deletions redelivered from it)",
  ],
  reply: `{'ok', {declared dead '<node>:<inc>'... (mode 'p': the nodes of the incarnations it ended)}, released, more ('1' when work is left), {entry...}, dropped}
(mode 'g': then {'<node>:<inc>'...}, the incarnations still to tell the partitions) | {'NODE_FENCED'}
| {'STALE'} (mode 'p', see partitionStale): entries in DELETION_FIELDS order`,
  uses: [
    'decimal',
    'time',
    'discover',
    'nodeStatus',
    'deletionFields',
    'release',
    'incarnationKeys',
    'endIncarnation',
    'tick',
    'stale',
    'partitionStale',
    'recoverKeys',
    'recoverStep',
  ],
  body: `
local nodeId, inc, nodeTtl, rt = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local gapMs, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
-- '' one hash tag holds everything; 'g' the membership of the partitioned layout (it owns no
-- client: the incarnations it ends stay in {P}:reaping for the store to tell every partition);
-- 'p' a partition of it, told which incarnations ended (ARGV[11..], '<node>:<inc>')
local mode = ARGV[10] or ''
if mode == 'p' then
  if partitionStale(ARGV[7], ARGV[9]) then return {'STALE'} end
elseif stale(nodeId, ARGV[7], ARGV[8], ARGV[9]) then return {'NODE_FENCED'} end
if nodeStatus(nodeId, inc) ~= 'alive' then return {'NODE_FENCED'} end
-- every key this call may touch, read before its first write (the tick's). The nodes overdue
-- before the tick (an outage it finds refreshes every heartbeat: none after) with what ending
-- their incarnation touches; then, unless a recovery runs, the clients to release (a budget of
-- limit over the incarnations to reap, those just ended included) and the deletions to take over
local ending, endingNodes, orphaned = {}, {}, {}
local overdue = {}
if mode == 'p' then
  for i = 11, #ARGV do
    local n, i2 = string.match(ARGV[i], '^(.*):([^:]*)$')
    if n then table.insert(overdue, {n, i2}) end
  end
else
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', k('nodes'), '-inf', '(' .. s(nowMs - nodeTtl))) do
    table.insert(overdue, {n, nil})
  end
end
for _, o in ipairs(overdue) do
  local n = o[1]
  if n ~= nodeId or (o[2] ~= nil and o[2] ~= inc) then
    local v = redis.call('HMGET', found(k('node', n)), 'inc', 'state')
    if v[1] and (o[2] == nil or v[1] == o[2]) and (v[2] == 'alive' or v[2] == 'leaving') then
      for _, did in ipairs(incarnationKeys(n, v[1])) do table.insert(orphaned, did) end
      table.insert(ending, n .. ':' .. v[1])
      endingNodes[n] = true
    end
  end
end
local unheld = recoverKeys(nodeTtl, limit, endingNodes)
local plan, takeOver = {}, {}
if not unheld and mode ~= 'g' then
  local owners = redis.call('SMEMBERS', k('reaping'))
  for _, owner in ipairs(ending) do table.insert(owners, owner) end
  local budget = limit
  for _, owner in ipairs(owners) do
    if budget <= 0 then break end
    local n = string.match(owner, '^(.*):[^:]*$')
    if n then discover(k('node', n)) end
    local ids = redis.call('SRANDMEMBER', found(k('owned', owner)), budget)
    for _, id in ipairs(ids) do discover(k('c', id), k('x', id)) end
    table.insert(plan, {owner, ids})
    budget = budget - #ids
  end
  takeOver = redis.call('SRANDMEMBER', k('orphans'), limit)
  for _, did in ipairs(takeOver) do discover(k('d', did)) end
  for _, did in ipairs(orphaned) do
    if #takeOver >= limit then break end
    table.insert(takeOver, did)
  end
end
local declared = {}
if mode == 'p' then
  for _, owner in ipairs(ending) do
    local n, i2 = string.match(owner, '^(.*):([^:]*)$')
    endIncarnation(n, i2, 'dead', false)
    table.insert(declared, n)
  end
else
  tick(gapMs)
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', k('nodes'), '-inf', '(' .. s(nowMs - nodeTtl))) do
    if n ~= nodeId then
      local v = redis.call('HMGET', k('node', n), 'inc', 'state')
      if v[1] and (v[2] == 'alive' or v[2] == 'leaving') then
        endIncarnation(n, v[1], 'dead', mode == 'g')
        table.insert(declared, n .. ':' .. v[1])
      else
        -- not a live incarnation (should not be listed): just drop it
        redis.call('ZREM', k('nodes'), n)
      end
    end
  end
end
local recovery = recoverStep(nodeTtl, unheld or {})
if recovery then
  local toTell = {}
  if mode == 'g' then toTell = redis.call('SMEMBERS', k('reaping')) end
  return {'ok', declared, '0', s(recovery[2]), {}, s(recovery[1]), toTell}
end
if mode == 'g' then return {'ok', declared, '0', '0', {}, '0', redis.call('SMEMBERS', k('reaping'))} end
local released = 0
for _, step in ipairs(plan) do
  local owner, ids = step[1], step[2]
  if redis.call('SISMEMBER', k('reaping'), owner) == 1 then
    local owned = k('owned', owner)
    for _, id in ipairs(ids) do
      redis.call('SREM', owned, id)
      released = released + release(id, owner, rt)
    end
    if redis.call('SCARD', owned) == 0 then
      redis.call('SREM', k('reaping'), owner)
      local n, i = string.match(owner, '^(.*):([^:]*)$')
      if n then forgetNode(n, i) end
    end
  end
end
local redelivered = {}
for _, did in ipairs(takeOver) do
  local d = k('d', did)
  if redis.call('SREM', k('orphans'), did) == 1 and redis.call('EXISTS', d) == 1 then
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
