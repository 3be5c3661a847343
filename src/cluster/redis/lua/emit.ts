import { defineScript } from './defineScript.js';

/** One message of `to(clientId).emit()` queued in the client's outbox, from any node. */
export const emitScript = defineScript({
  name: 'emit',
  does: `Queues one message in the client's outbox ({P}:o:<clientId>, a sorted set by sequence number;
each member is <seq>|<at>|<emitId>|<payload>, payload the JSON array [event, ...args]), from any
node. The sequence number is the record's seq + 1, so concurrent emits from any number of
connections get distinct, increasing numbers in the order Redis runs them. Past maxMessages
unacknowledged messages or maxBytes of members, the message is not queued and the client is deleted
outbox-overflow in this same step (a deletion journal entry assigned to the caller, whose
undelivered counts this message too): exactly once cluster-wide, a concurrent emit finds it
already-deleted. While the client is connected its owner must send it: to the caller itself the
reply carries the member and the socket id; another owner is told on {P}:notice:<node> ('message').
Idempotent per emitId: the ids of the last replayWindow ms are kept ({P}:e:<clientId>), so an emit
whose reply was lost and that is sent again answers 'replay' (with its member while it is still
unacknowledged, and the owner told again) instead of queueing it twice.`,
  keys: [
    'the client record ({P}:c:<clientId>)',
    'its data key ({P}:x:<clientId>): its `data` when longer than 64 bytes',
    'its tombstone ({P}:t:<clientId>)',
    'its outbox ({P}:o:<clientId>)',
    'its emit ids ({P}:e:<clientId>)',
    'the deletion journal entry of an overflow ({P}:d:<deletionId>)',
    'the deadlines ({P}:deadlines)',
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    "the deletions of the caller's incarnation ({P}:dels:<nodeId>:<inc>)",
    'the node hash of the caller ({P}:node:<nodeId>)',
    "the cluster meta hash ({P}:meta); discovered: the owner's owned set",
  ],
  argv: [
    'clientId',
    'emitId: the same on every attempt of one emit',
    'payload: [event, ...args] as JSON',
    'maxMessages',
    'maxBytes',
    'nodeId',
    'inc',
    'deletionId: for an overflow',
    'tombstoneTtl (ms)',
    'replayWindow (ms)',
  ],
  reply: `{'queued', seq, member?, socketId?} | {'replay', seq?, member?, socketId?} | {'overflow', entry}
| {'already-deleted'} | {'unknown-client'} | {'NODE_FENCED'}: member and socketId when the caller owns
the connected client and must send it; the entry in DELETION_FIELDS order`,
  uses: ['decimal', 'time', 'read', 'nodeStatus', 'notify', 'deleteClient', 'ownerKeys'],
  body: `
local id, eid, payload = ARGV[1], ARGV[2], ARGV[3]
local maxMessages, maxBytes = tonumber(ARGV[4]), tonumber(ARGV[5])
local nodeId, inc, did, ttl, window = ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
local status = nodeStatus(nodeId, inc)
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED'} end
local rec = KEYS[1]
local r = read(rec)
if not r then
  if redis.call('EXISTS', k('t', id)) == 1 then return {'already-deleted'} end
  return {'unknown-client'}
end
-- an overflow deletes it, after this step's first write
ownerKeys(r)
local outbox, ids = k('o', id), k('e', id)
local function deliver(outcome, seq, member)
  if r.state ~= 'connected' then return {outcome, seq} end
  if r.node == nodeId and r.inc == inc then return {outcome, seq, member, r.socketId} end
  notify(r.node, {type = 'message', clientId = id, inc = r.inc, socketId = r.socketId, seq = seq, m = member})
  return {outcome, seq}
end
redis.call('ZREMRANGEBYSCORE', ids, '-inf', s(nowMs - window))
if redis.call('ZSCORE', ids, eid) then
  -- this emit ran already (its reply was lost): its member, if the page has not acknowledged it
  local needle = '|' .. eid .. '|'
  for _, m in ipairs(redis.call('ZRANGE', outbox, 0, -1)) do
    if string.find(m, needle, 1, true) then return deliver('replay', string.match(m, '^(%d+)|'), m) end
  end
  return {'replay'}
end
local v = redis.call('HMGET', rec, 'seq', 'acked', 'obytes')
local seq, acked, bytes = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
local n = s(seq + 1)
local member = n .. '|' .. s(nowMs) .. '|' .. eid .. '|' .. payload
if seq - acked + 1 > maxMessages or bytes + #member > maxBytes then
  -- a gap would break "once, in order": the page must start over
  return {'overflow', deleteClient(id, r, 'outbox-overflow', did, nodeId, inc, ttl, 1)}
end
redis.call('ZADD', outbox, n, member)
redis.call('ZADD', ids, s(nowMs), eid)
local changes = {'seq', n, 'obytes', s(bytes + #member)}
if seq == acked then
  table.insert(changes, 'oldestAt')
  table.insert(changes, s(nowMs))
end
redis.call('HSET', rec, unpack(changes))
return deliver('queued', n, member)
`,
});
