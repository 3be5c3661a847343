import { defineScript } from './defineScript.js';

/** A deletion from any node, exactly once cluster-wide. */
export const deleteScript = defineScript({
  name: 'delete',
  does: `Deletes a live client from any state, from any node: 'deleted' exactly once cluster-wide,
with a deletion journal entry assigned to the calling incarnation (it runs onDelete, then completes
it). Idempotent per deletion id: the same call again answers 'replay' (with the entry while it is
not completed). Otherwise already-deleted (a tombstone), unknown-client, NODE_FENCED.`,
  keys: [
    'the client record ({P}:c:<clientId>)',
    'its data key ({P}:x:<clientId>): its `data` when longer than 64 bytes',
    'its tombstone ({P}:t:<clientId>)',
    'its outbox ({P}:o:<clientId>)',
    'its emit ids ({P}:e:<clientId>)',
    'the deletion journal entry ({P}:d:<deletionId>)',
    'the deadlines ({P}:deadlines)',
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    "the deletions of the caller's incarnation ({P}:dels:<nodeId>:<inc>)",
    'the node hash of the caller ({P}:node:<nodeId>)',
    "the cluster meta hash ({P}:meta); discovered: the owner's owned set",
  ],
  argv: [
    'clientId',
    'deletionId: the same on every attempt of one delete',
    'reason',
    'nodeId',
    'inc',
    'tombstoneTtl (ms)',
  ],
  reply: `{'deleted', entry} | {'replay', entry?} | {'already-deleted'} | {'unknown-client'} | {'NODE_FENCED'}:
the entry in DELETION_FIELDS order`,
  uses: ['read', 'nodeStatus', 'deletionFields', 'deleteClient', 'ownerKeys'],
  body: `
local id, did, reason, nodeId, inc, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local status = nodeStatus(nodeId, inc)
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED'} end
local r = read(KEYS[1])
if not r then
  local tomb = redis.call('GET', k('t', id))
  if not tomb then return {'unknown-client'} end
  if string.match(tomb, '^(%S+)') ~= did then return {'already-deleted'} end
  if redis.call('EXISTS', k('d', did)) == 1 then return {'replay', redis.call('HMGET', k('d', did), unpack(DEL))} end
  return {'replay'}
end
ownerKeys(r)
return {'deleted', deleteClient(id, r, reason, did, nodeId, inc, ttl)}
`,
});
