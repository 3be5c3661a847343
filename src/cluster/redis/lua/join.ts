import { defineScript } from './defineScript.js';

/** A new incarnation of a node. */
export const joinScript = defineScript({
  name: 'join',
  does: `Starts a new incarnation of nodeId. Creates the cluster's epoch when Redis holds none (first
start, or Redis lost its data). A previous incarnation still alive or leaving is ended as dead first
(its clients get a grace period, its unfinished deletions are redelivered) when it is this
process's own (the same processId: a rejoin) or its heartbeat is older than nodeTtl (the same
node id restarted after a crash); a live one of another process is never ended: NODE_ID_IN_USE.
First of all, the key layout: {P}:schema (layout, partitions) is written when absent (a fresh Redis,
or one written by a release before the schema key: layout 1); a Redis written by another layout or
partition count is refused, LAYOUT_MISMATCH, before anything is written but the write counter. A
Redis of the layout this node upgrades (upgradesFrom, or no schema) is upgraded to its layout (its
records are valid records of this layout) only if no other node is live there (alive or leaving,
heartbeat within nodeTtl; the nodes of that Redis are all of the old layout): LAYOUT_LIVE names one
that is, before anything is written but the write counter; those whose heartbeat is older are ended
as dead (they no longer serve; a late heartbeat of theirs is fenced, and their rejoin refused by
their own layout check).`,
  keys: [
    'the cluster meta hash ({P}:meta)',
    'the key layout ({P}:schema)',
    'its node hash ({P}:node:<nodeId>)',
    'the live nodes ({P}:nodes)',
    'the incarnations to reap ({P}:reaping)',
    "the orphaned deletions ({P}:orphans); discovered: a previous incarnation's owned set and deletions (incarnationKeys), and in an upgrade every live node's hash and those of the ones it ends",
  ],
  argv: [
    'nodeId',
    'gapMs: the outageGap (ms)',
    'nodeTtl (ms)',
    "processId: this process's random id",
    'layout: the key layout this node uses',
    'partitions: its partition count',
    "upgradesFrom: the layout it upgrades ('' for none)",
    "partitioned: '1' in the partitioned layout (3), where an ended incarnation is queued in {P}:reaping until every partition was told",
  ],
  reply: `{inc, epoch, nowMs, endedInc ('' when none), recovery, recoveryAt (the recovery after a rollback
that runs, '' for none)} | {'NODE_ID_IN_USE', inc, heartbeat age (ms)}
| {'LAYOUT_MISMATCH', layout, partitions}: the schema Redis holds
| {'LAYOUT_LIVE', layout, nodeId, heartbeat age (ms)}: a live node of the layout it would upgrade`,
  uses: ['decimal', 'time', 'discover', 'incarnationKeys', 'endIncarnation', 'tick'],
  body: `
local nodeId, gapMs, nodeTtl, processId, layout, partitions = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local from = ARGV[7] or ''
local mark = ARGV[8] == '1'
local meta = k('meta')
local schema = redis.call('HMGET', k('schema'), 'layout', 'partitions')
local upgrade = not schema[1] or (schema[1] ~= layout and schema[1] == from and schema[2] == partitions)
if schema[1] and not upgrade and (schema[1] ~= layout or schema[2] ~= partitions) then
  return {'LAYOUT_MISMATCH', schema[1], schema[2] or ''}
end
-- an upgrade: every other node there is of the old layout; one still live refuses it, those
-- silent for nodeTtl are ended (their keys read before the first write)
local silent = {}
if upgrade and from ~= '' then
  local beats = redis.call('ZRANGE', k('nodes'), 0, -1, 'WITHSCORES')
  for i = 1, #beats, 2 do
    local n, age = beats[i], nowMs - tonumber(beats[i + 1])
    if n ~= nodeId then
      local v = redis.call('HMGET', found(k('node', n)), 'inc', 'state')
      if v[1] and (v[2] == 'alive' or v[2] == 'leaving') then
        if age < nodeTtl then return {'LAYOUT_LIVE', schema[1] or from, n, s(age)} end
        incarnationKeys(n, v[1])
        table.insert(silent, {n, v[1]})
      end
    end
  end
end
local nk = k('node', nodeId)
local prev = redis.call('HMGET', nk, 'inc', 'state', 'process')
if prev[1] and (prev[2] == 'alive' or prev[2] == 'leaving') and prev[3] ~= processId then
  local beat = tonumber(redis.call('ZSCORE', k('nodes'), nodeId) or '0')
  local age = nowMs - beat
  if age < nodeTtl then return {'NODE_ID_IN_USE', prev[1], s(age)} end
end
local ending = prev[1] and (prev[2] == 'alive' or prev[2] == 'leaving')
if ending then incarnationKeys(nodeId, prev[1]) end
if upgrade then redis.call('HSET', k('schema'), 'layout', layout, 'partitions', partitions) end
for _, old in ipairs(silent) do endIncarnation(old[1], old[2], 'dead', mark) end
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = s(nowUs)
  redis.call('HSET', meta, 'epoch', epoch, 'lastTick', s(nowMs))
end
tick(gapMs)
local ended = ''
if ending then
  endIncarnation(nodeId, prev[1], 'dead', mark)
  ended = prev[1]
end
local inc = redis.call('HINCRBY', nk, 'inc', 1)
redis.call('HSET', nk, 'state', 'alive', 'joinedAt', s(nowMs), 'heartbeatAt', s(nowMs), 'process', processId)
redis.call('PERSIST', nk)
redis.call('ZADD', k('nodes'), s(nowMs), nodeId)
local rec = redis.call('HMGET', meta, 'recovery', 'recoveryAt')
return {s(inc), epoch, s(nowMs), ended, rec[1] or '', rec[2] or ''}
`,
});
