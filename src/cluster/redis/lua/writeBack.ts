import { defineScript } from './defineScript.js';

/** The deletions a node ran, written back after Redis lost or rolled back its data. */
export const writeBackScript = defineScript({
  name: 'writeBack',
  does: `After Redis lost its data or went back to an older copy (heartbeat answered RESET or ROLLBACK,
then join and restore), each node writes back the deletions it ran within tombstoneTtl, so a
deleted client stays deleted: its tombstone (unless one is there), the record Redis went back to
removed with its indexes and outbox, without a hook (the owner, if another, is told 'deleted'), and
the deletion's journal entry removed (its onDelete ran here: it must not be redelivered). With done
= '1' the incarnation is marked written back for the current recovery (wb = recovery:inc in its node
hash): a recovery drops what nobody holds only once every live node is.`,
  keys: [
    'the cluster meta hash ({P}:meta)',
    'its node hash ({P}:node:<nodeId>)',
    'the orphaned deletions ({P}:orphans)',
    'the deadlines ({P}:deadlines)',
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    "... per deletion, in the order of ARGV: the record, data key, tombstone, outbox and emit ids of its client ({P}:c|x|t|o|e:<clientId>) and its journal entry ({P}:d:<deletionId>); discovered: the owners' owned sets, the deletions sets of the incarnations the entries are assigned to",
  ],
  argv: [
    'nodeId',
    'inc',
    "done: '1' on the last call",
    '... per deletion: clientId, deletionId, reason, the ms its tombstone has left',
  ],
  reply: `{'ok', removed (records removed)} | {'NODE_FENCED'}`,
  uses: ['decimal', 'discover', 'read', 'nodeStatus', 'moveState', 'moveOwner', 'notify', 'announce', 'ownerKeys'],
  body: `
local nodeId, inc, done = ARGV[1], ARGV[2], ARGV[3]
local status = nodeStatus(nodeId, inc)
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED'} end
-- every key this call may touch, read before its first write
for i = 4, #ARGV - 3, 4 do
  ownerKeys(read(k('c', ARGV[i])))
  local v = redis.call('HMGET', k('d', ARGV[i + 1]), 'node', 'inc')
  if v[1] and v[1] ~= '' then discover(k('dels', v[1], v[2] or '')) end
end
local removed = 0
for i = 4, #ARGV - 3, 4 do
  local id, did, reason, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if redis.call('EXISTS', k('t', id)) == 0 then redis.call('SET', k('t', id), did .. ' ' .. reason, 'PX', ttl) end
  local r = read(k('c', id))
  if r then
    redis.call('DEL', k('c', id), k('x', id), k('o', id), k('e', id))
    redis.call('ZREM', k('deadlines'), id)
    moveState(id, r.state, nil)
    moveOwner(id, r.node, r.inc, '', '')
    if r.node ~= nodeId or r.inc ~= inc then
      notify(r.node, {type = 'deleted', clientId = id, inc = r.inc, fence = r.fence, socketId = r.socketId, reason = reason})
    end
    announce(id, 'deleted')
    removed = removed + 1
  end
  local d = k('d', did)
  local v = redis.call('HMGET', d, 'node', 'inc')
  if v[1] then
    if v[1] ~= '' then redis.call('SREM', k('dels', v[1], v[2] or ''), did) end
    redis.call('SREM', k('orphans'), did)
    redis.call('DEL', d)
  end
end
if done == '1' then
  redis.call('HSET', k('node', nodeId), 'wb', (redis.call('HGET', k('meta'), 'recovery') or '') .. ':' .. inc)
end
return {'ok', s(removed)}
`,
});
