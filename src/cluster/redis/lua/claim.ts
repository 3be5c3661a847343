import { defineScript } from './defineScript.js';

/** The handshake: authentication and the handshake column of the lifecycle table, in one step. */
export const claimScript = defineScript({
  name: 'claim',
  does: `The handshake column of the lifecycle table, in one step, on the node the socket reached:
handshaking → connected(s): 'connected'; disconnected → connected(s): 'reconnected'; connected(s0 ≠ s),
or connected(s) on another incarnation → connected(s): 'swapped'; connected(s) on this incarnation:
'replay', nothing changes (a claim whose reply was lost). The deadline is cleared. When the owner
changes, the fence rises, the client moves to this incarnation's owned set and the previous owner is
told on {P}:notice:<node> ('replaced'). A client that was not connected is announced 'connected' on
{P}:watch:<clientId>. Rejections: UNKNOWN_CLIENT, BAD_TOKEN (the token hash differs), CLIENT_DELETED
(a tombstone, with the deletion's reason), NODE_FENCED (this incarnation is not alive). RECOVERING:
Redis went back to older data and some live node has not written back what it holds (see the
settling fragment): nothing is read or changed, the node answers UNAVAILABLE and the client retries. A connect or
reconnect makes onConnect due: the mark hookDue = '<socketId> <0|1 reconnect>' stays until an owner
has run it (hookRan). A swap from an owner that is no longer alive hands a mark left to this node.`,
  keys: [
    'the client record ({P}:c:<clientId>)',
    'its data key ({P}:x:<clientId>): its `data` when longer than 64 bytes',
    'its tombstone ({P}:t:<clientId>)',
    'the node hash of the caller ({P}:node:<nodeId>)',
    'the owned set of its incarnation ({P}:owned:<nodeId>:<inc>)',
    'the deadlines ({P}:deadlines)',
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    'the cluster meta hash ({P}:meta)',
    "the live nodes ({P}:nodes); discovered: the previous owner's node hash and owned set, every live node's hash during a recovery",
  ],
  argv: [
    'clientId',
    'tokenHash: the SHA-256 hex of the token the socket presented',
    'socketId',
    "tabId ('' for none)",
    'nodeId',
    "inc: the caller's incarnation",
  ],
  reply: `{outcome, before, after, {seq, acked}, due}: before/after in RECORD_FIELDS order, the outbox
counters so the node knows at once whether messages wait for the socket, due the hookDue mark handed
to this node ('' for none) | {'CLIENT_DELETED', reason}
| {'UNKNOWN_CLIENT'} | {'BAD_TOKEN'} | {'NODE_FENCED'} | {'RECOVERING'}`,
  uses: [
    'decimal',
    'time',
    'read',
    'fence',
    'nodeStatus',
    'moveState',
    'moveOwner',
    'notify',
    'announce',
    'ownerKeys',
    'settling',
  ],
  body: `
local id, th, sid, tab, nodeId, inc = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local rec = KEYS[1]
if nodeStatus(nodeId, inc) ~= 'alive' then return {'NODE_FENCED'} end
if settling() then return {'RECOVERING'} end
local tokenHash = redis.call('HGET', rec, 'tokenHash')
if not tokenHash then
  local tomb = redis.call('GET', k('t', id))
  if tomb then return {'CLIENT_DELETED', string.match(tomb, '^%S+ (.*)$') or ''} end
  return {'UNKNOWN_CLIENT'}
end
if tokenHash ~= th then return {'BAD_TOKEN'} end
local r = read(rec)
local before = flat(r)
local sameOwner = r.node == nodeId and r.inc == inc
local function counters()
  local v = redis.call('HMGET', rec, 'seq', 'acked')
  return {v[1] or '0', v[2] or '0'}
end
if r.state == 'connected' and r.socketId == sid and sameOwner then return {'replay', before, before, counters()} end
if not sameOwner then ownerKeys(r, true) end
local outcome = 'swapped'
if r.state == 'handshaking' then outcome = 'connected' elseif r.state == 'disconnected' then outcome = 'reconnected' end
local changes = {'state', 'connected', 'socketId', sid, 'expiresAt', ''}
if outcome ~= 'swapped' then
  table.insert(changes, 'connectedAt')
  table.insert(changes, s(nowMs))
end
if tab ~= '' then
  table.insert(changes, 'tabId')
  table.insert(changes, tab)
end
local due = ''
if outcome ~= 'swapped' then
  table.insert(changes, 'hookDue')
  table.insert(changes, sid .. (outcome == 'reconnected' and ' 1' or ' 0'))
elseif not sameOwner and (r.node == '' or nodeStatus(r.node, r.inc) ~= 'alive') then
  due = redis.call('HGET', rec, 'hookDue') or ''
end
if not sameOwner then
  local fence = s(nextFence(r.fence))
  for _, v in ipairs({'node', nodeId, 'inc', inc, 'fence', fence}) do table.insert(changes, v) end
  moveOwner(id, r.node, r.inc, nodeId, inc)
  notify(r.node, {type = 'replaced', clientId = id, inc = r.inc, fence = fence, socketId = r.socketId, state = r.state})
end
redis.call('HSET', rec, unpack(changes))
redis.call('ZREM', k('deadlines'), id)
moveState(id, r.state, 'connected')
if outcome ~= 'swapped' then announce(id, 'connected') end
return {outcome, before, flat(read(rec)), counters(), due}
`,
});
