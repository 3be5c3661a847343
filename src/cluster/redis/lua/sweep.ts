import { defineScript } from './defineScript.js';

/** One batch of the deadline sweep, run by every node. */
export const sweepScript = defineScript({
  name: 'sweep',
  does: `Deletes up to limit clients whose deadline ({P}:deadlines, Redis TIME) has passed: a
handshaking one with reason handshake-timeout, a disconnected one with reconnect-timeout. Each is
claimed and deleted in this one step, so when several nodes sweep at once each due client is deleted
by exactly one of them; the deletions (journal entries, assigned to the sweeping incarnation) come
back for it to run onDelete. Their ids are derived from seed (random per call) and the client id.
After an outage (see tick) the sweep first gives every deadline due by then a fresh grace period
(handshakeTimeout or reconnectTimeout from now, a reconnect deadline's generation bumped), limit at
a time, and deletes nothing until that is done. During a recovery after a rollback it deletes
nothing (a deadline Redis went back to may belong to a client deleted or reconnected since); a stale
view (see the stale fragment) answers NODE_FENCED.`,
  keys: [
    'the deadlines ({P}:deadlines)',
    'the cluster meta hash ({P}:meta)',
    'the node hash of the caller ({P}:node:<nodeId>)',
    'the live nodes ({P}:nodes)',
    "the deletions of the caller's incarnation ({P}:dels:<nodeId>:<inc>)",
    'the clients a recovery drops ({P}:unheld)',
    "the handshaking, connected and disconnected sets ({P}:state:<state>), three keys; discovered: the due clients' records, data keys, tombstones, outboxes, emit ids, journal entries and owners' owned sets",
  ],
  argv: [
    'nodeId',
    'inc',
    'limit: clients per call',
    'handshakeTimeout (ms)',
    'reconnectTimeout (ms)',
    'gapMs: the outageGap (ms)',
    'tombstoneTtl (ms)',
    'seed: random per call, for the deletion ids',
    'epoch: the one the node joined',
    "seen: the write counter its last acknowledged heartbeat answered ('' for none)",
    "highest: the highest write counter any reply answered it since it joined ('' for none)",
    "partition: 'p' in a partition of the partitioned layout (3), '' otherwise: no tick (the membership's heartbeats find an outage), the stale view checked by partitionStale (answered STALE), and",
    "graceFrom: in a partition, when the last outage the membership found ended ('' for none): deadlines due by then get their fresh grace period once",
  ],
  reply: `{'swept', count, more, {entry...}} | {'grace', count, more, {}} | {'NODE_FENCED'} | {'STALE'}:
more is '1' when due deadlines are left, entries in DELETION_FIELDS order`,
  uses: ['decimal', 'time', 'discover', 'read', 'nodeStatus', 'tick', 'deleteClient', 'stale', 'partitionStale'],
  body: `
local nodeId, inc, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ht, rt, gapMs, ttl, seed = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local partition = ARGV[12] == 'p'
if partition then
  if partitionStale(ARGV[9], ARGV[11]) then return {'STALE'} end
elseif stale(nodeId, ARGV[9], ARGV[10], ARGV[11]) then return {'NODE_FENCED'} end
if nodeStatus(nodeId, inc) ~= 'alive' then return {'NODE_FENCED'} end
local dl = k('deadlines')
-- every key this call may touch, read before its first write (the tick's): the first limit
-- clients due by now (those due by graceFrom, when set, are the first of them) and what deleting
-- each one touches
local due = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', dl, '-inf', s(nowMs), 'LIMIT', 0, limit)) do
  found(k('x', id))
  local r = read(found(k('c', id)))
  if r then
    local did = string.sub(redis.sha1hex(seed .. ':' .. id), 1, 22)
    if r.node ~= '' then
      discover(k('t', id), k('o', id), k('e', id), k('d', did), k('owned', r.node, r.inc))
    else
      discover(k('t', id), k('o', id), k('e', id), k('d', did))
    end
    due[id] = {r, did}
  end
end
if not partition then
  tick(gapMs)
else
  -- an outage the membership found, once per partition: its deadlines due by then are pushed
  local outage = tonumber(ARGV[13])
  if outage and outage > (tonumber(redis.call('HGET', k('meta'), 'graceSeen')) or 0) then
    redis.call('HSET', k('meta'), 'graceFrom', ARGV[13], 'graceSeen', ARGV[13])
  end
end
if redis.call('HEXISTS', k('meta'), 'recovery') == 1 then return {'swept', '0', '0', {}} end
local graceFrom = redis.call('HGET', k('meta'), 'graceFrom')
if graceFrom then
  local ids = redis.call('ZRANGEBYSCORE', dl, '-inf', graceFrom, 'LIMIT', 0, limit)
  -- past graceFrom even with a zero timeout, so each deadline is pushed once
  local floor = tonumber(graceFrom) + 1
  for _, id in ipairs(ids) do
    local rec = k('c', id)
    local state = redis.call('HGET', rec, 'state')
    local exp
    if state == 'handshaking' then
      exp = s(math.max(nowMs + ht, floor))
      redis.call('HSET', rec, 'expiresAt', exp)
    elseif state == 'disconnected' then
      exp = s(math.max(nowMs + rt, floor))
      redis.call('HSET', rec, 'expiresAt', exp)
      redis.call('HINCRBY', rec, 'generation', 1)
    end
    if exp then redis.call('ZADD', dl, exp, id) else redis.call('ZREM', dl, id) end
  end
  if #ids < limit then redis.call('HDEL', k('meta'), 'graceFrom') end
  return {'grace', s(#ids), (#ids < limit) and '0' or '1', {}}
end
local ids = redis.call('ZRANGEBYSCORE', dl, '-inf', s(nowMs), 'LIMIT', 0, limit)
local deletions = {}
for _, id in ipairs(ids) do
  -- read above (the tick writes no record)
  local r, did = unpack(due[id] or {})
  if r and (r.state == 'handshaking' or r.state == 'disconnected') then
    local reason = 'reconnect-timeout'
    if r.state == 'handshaking' then reason = 'handshake-timeout' end
    table.insert(deletions, deleteClient(id, r, reason, did, nodeId, inc, ttl))
  else
    redis.call('ZREM', dl, id)
  end
end
return {'swept', s(#deletions), (#ids < limit) and '0' or '1', deletions}
`,
});
