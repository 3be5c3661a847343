import { defineScript } from './defineScript.js';

/** A new handshaking client, owned by the registering incarnation. */
export const registerScript = defineScript({
  name: 'register',
  does: `Creates a handshaking client owned by the registering incarnation, its handshake deadline in
{P}:deadlines; a data longer than 64 bytes is kept in its data key, a shorter one in the record. Idempotent per client id and token: a replay (same token hash) returns the record as
it is now. ID_TAKEN: the id exists with another token, or was deleted (ids are never reused).
NODE_FENCED: the incarnation is not alive.`,
  keys: [
    'the client record ({P}:c:<clientId>)',
    'its data key ({P}:x:<clientId>): its `data` when longer than 64 bytes',
    'its tombstone ({P}:t:<clientId>)',
    'the deadlines ({P}:deadlines)',
    'the handshaking set ({P}:state:handshaking)',
    'the owned set of the incarnation ({P}:owned:<nodeId>:<inc>)',
    'its node hash ({P}:node:<nodeId>)',
    'the cluster meta hash ({P}:meta)',
  ],
  argv: [
    'clientId',
    'tokenHash: the SHA-256 hex of its token',
    "tabId ('' for none)",
    'data: JSON',
    'nodeId',
    'inc',
    'handshakeTimeout (ms)',
  ],
  reply: `{'registered' | 'replay', record (RECORD_FIELDS order)} | {'ID_TAKEN'} | {'NODE_FENCED'}`,
  uses: ['decimal', 'time', 'read', 'storeData', 'fence', 'nodeStatus', 'moveState', 'moveOwner'],
  body: `
local id, th, tab, data, nodeId, inc, ht = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local rec = KEYS[1]
if nodeStatus(nodeId, inc) ~= 'alive' then return {'NODE_FENCED'} end
local existing = redis.call('HGET', rec, 'tokenHash')
if existing then
  if existing == th then return {'replay', flat(read(rec))} end
  return {'ID_TAKEN'}
end
if redis.call('EXISTS', k('t', id)) == 1 then return {'ID_TAKEN'} end
local exp = nowMs + ht
local fields = {'tokenHash', th, 'state', 'handshaking', 'socketId', '', 'lastSocketId', '', 'tabId', tab,
  'createdAt', s(nowMs), 'connectedAt', '', 'disconnectedAt', '', 'expiresAt', s(exp), 'generation', '0',
  'node', nodeId, 'inc', inc, 'fence', s(nextFence(0))}
storeData(rec, data, fields, false)
redis.call('HSET', rec, unpack(fields))
redis.call('ZADD', k('deadlines'), s(exp), id)
moveState(id, nil, 'handshaking')
moveOwner(id, '', '', nodeId, inc)
return {'registered', flat(read(rec))}
`,
});
