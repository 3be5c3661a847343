import { defineScript } from './defineScript.js';

/** A client written back by the node that holds it, after Redis lost its data. */
export const restoreScript = defineScript({
  name: 'restore',
  does: `After Redis lost its data (heartbeat answered RESET), each node rewrites the live clients it
holds, owned by its new incarnation, at the fence it knows. 'kept': Redis already holds the client
at a higher fence, or at this fence under another node (another node restored a newer view). At this
fence under this node (Redis went back to a copy from before its rejoin) it is written back; under
this very incarnation it is 'restored' already (a replay). 'deleted': a tombstone says it
was deleted meanwhile. Fences keep rising from there (see the fence fragment). The outbox is gone
with the data: its sequence restarts from seq (the last number the node knows of), all
acknowledged, so the page, told where its stream resumes, takes the next message as the next one
rather than one it already had.`,
  keys: [
    'the client record ({P}:c:<clientId>)',
    'its data key ({P}:x:<clientId>): its `data` when longer than 64 bytes',
    'its tombstone ({P}:t:<clientId>)',
    'its outbox ({P}:o:<clientId>)',
    'its emit ids ({P}:e:<clientId>)',
    'the deadlines ({P}:deadlines)',
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    "the owned set of the caller's incarnation ({P}:owned:<nodeId>:<inc>)",
    'the node hash of the caller ({P}:node:<nodeId>)',
    "the cluster meta hash ({P}:meta); discovered: the owner's owned set",
  ],
  argv: [
    'nodeId',
    'inc',
    'clientId',
    'tokenHash',
    '... the snapshot, one argument per field in SNAPSHOT_KEYS order',
    'then data (JSON), fence, seq',
  ],
  reply: `'restored' | 'kept' | 'deleted' | 'NODE_FENCED'`,
  uses: ['snapshotFields', 'read', 'storeData', 'nodeStatus', 'moveState', 'moveOwner', 'ownerKeys'],
  body: `
local nodeId, inc, id, th = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local snap = {}
for i, f in ipairs(SNAPSHOT) do snap[f] = ARGV[4 + i] end
local n = 4 + #SNAPSHOT
local data, fence, seq = ARGV[n + 1], ARGV[n + 2], ARGV[n + 3] or '0'
local rec = KEYS[1]
if nodeStatus(nodeId, inc) ~= 'alive' then return 'NODE_FENCED' end
if redis.call('EXISTS', k('t', id)) == 1 then return 'deleted' end
local r = read(rec)
ownerKeys(r)
if r then
  local have, mine = tonumber(r.fence) or 0, tonumber(fence)
  if have > mine or (have == mine and r.node ~= nodeId) then return 'kept' end
  if have == mine and r.inc == inc then return 'restored' end
  moveState(id, r.state, nil)
  moveOwner(id, r.node, r.inc, '', '')
  redis.call('ZREM', k('deadlines'), id)
end
local fields = {'tokenHash', th, 'lastSocketId', '', 'node', nodeId, 'inc', inc, 'fence', fence,
  'seq', seq, 'acked', seq, 'obytes', '0', 'oldestAt', ''}
for _, f in ipairs(SNAPSHOT) do
  table.insert(fields, f)
  table.insert(fields, snap[f])
end
storeData(rec, data, fields, r ~= nil)
redis.call('HSET', rec, unpack(fields))
redis.call('DEL', k('o', id), k('e', id))
moveState(id, nil, snap.state)
moveOwner(id, '', '', nodeId, inc)
if snap.expiresAt ~= '' then redis.call('ZADD', k('deadlines'), snap.expiresAt, id) end
return 'restored'
`,
});
