import { defineScript } from './defineScript.js';

/** The disconnect column of the lifecycle table. */
export const disconnectScript = defineScript({
  name: 'disconnect',
  does: `Only the current socket of a connected client, disconnected by its owner at its current
fence, makes it disconnected, with a deadline now + reconnectTimeout and its generation bumped.
Otherwise nothing changes and the outcome says why: replay (this socket's disconnect already ran),
not-connected, stale-socket, fenced (another incarnation owns it, or the fence moved on),
already-deleted, unknown-client, NODE_FENCED (this incarnation is dead or left). An empty fence
releases a socket whose claim had no answer (the claim may have run): the socket id and the owner
must still match; its onConnect mark (hookDue) goes with it, or, if the client has moved on to a
live owner meanwhile, that owner is told to run it ({P}:notice:<node>, 'hook-due').`,
  keys: [
    'the client record ({P}:c:<clientId>)',
    'its data key ({P}:x:<clientId>): its `data` when longer than 64 bytes',
    'its tombstone ({P}:t:<clientId>)',
    'the node hash of the caller ({P}:node:<nodeId>)',
    'the deadlines ({P}:deadlines)',
    'the connected and disconnected sets ({P}:state:<state>), two keys',
    "the cluster meta hash ({P}:meta); discovered: the owner's node hash, to tell it a hook is due",
  ],
  argv: [
    'clientId',
    'socketId',
    'nodeId',
    'inc',
    "fence: the caller's ('' for an unanswered claim)",
    'reconnectTimeout (ms)',
  ],
  reply: `{'disconnected', before, after} | {'replay' | 'not-connected' | 'stale-socket' | 'fenced', before}
| {'already-deleted'} | {'unknown-client'} | {'NODE_FENCED'}: records in RECORD_FIELDS order`,
  uses: ['decimal', 'time', 'discover', 'read', 'nodeStatus', 'moveState', 'notify'],
  body: `
local id, sid, nodeId, inc, fence, rt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local rec = KEYS[1]
local status = nodeStatus(nodeId, inc)
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED'} end
local r = read(rec)
if not r then
  if redis.call('EXISTS', k('t', id)) == 1 then return {'already-deleted'} end
  return {'unknown-client'}
end
local before = flat(r)
local due = fence == '' and redis.call('HGET', rec, 'hookDue') or false
if due and string.match(due, '^(%S+)') ~= sid then due = false end
if r.state ~= 'connected' or r.socketId ~= sid then
  if due and r.node ~= '' then
    -- the owner's node hash, read at once: nothing is written before
    found(k('node', r.node))
    if nodeStatus(r.node, r.inc) == 'alive' then
      notify(r.node, {type = 'hook-due', clientId = id, inc = r.inc, fence = r.fence, socketId = sid,
        reconnect = string.match(due, ' (%d)$')})
    end
  end
  if redis.call('HGET', rec, 'lastSocketId') == sid then return {'replay', before} end
  if r.state ~= 'connected' then return {'not-connected', before} end
  return {'stale-socket', before}
end
if r.node ~= nodeId or r.inc ~= inc or (fence ~= '' and fence ~= r.fence) then return {'fenced', before} end
local exp = nowMs + rt
if due then redis.call('HDEL', rec, 'hookDue') end
redis.call('HSET', rec, 'state', 'disconnected', 'socketId', '', 'lastSocketId', sid, 'disconnectedAt', s(nowMs),
  'expiresAt', s(exp), 'generation', s((tonumber(r.generation) or 0) + 1))
redis.call('ZADD', k('deadlines'), s(exp), id)
moveState(id, 'connected', 'disconnected')
return {'disconnected', before, flat(read(rec))}
`,
});
