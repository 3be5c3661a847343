import { defineScript } from './defineScript.js';

/** Keeps an incarnation alive, and tells it when it was fenced or Redis lost its data. */
export const heartbeatScript = defineScript({
  name: 'heartbeat',
  does: `Keeps the incarnation alive ({P}:nodes score = Redis TIME). RESET: the cluster's epoch is not
the one the node joined (Redis lost its data): the node must join again and restore its clients.
ROLLBACK: the write counter this node's last acknowledged heartbeat stored is below what that
heartbeat answered: Redis went back to older data (see the stale fragment), a new epoch and a recovery
begin, and the node rejoins and writes back as after RESET. NODE_FENCED: this incarnation was
declared dead (or left): it has lost every client it held and must join again as a new incarnation.
Each 'ok' stores the write counter in the node hash (wseen) and answers it, with the ownership
version (see the ownership fragment): the node re-checks what it holds only when that moved.`,
  keys: [
    'the live nodes ({P}:nodes)',
    'the cluster meta hash ({P}:meta)',
    'its node hash ({P}:node:<nodeId>)',
    'the clients a recovery drops ({P}:unheld)',
  ],
  argv: [
    'nodeId',
    'inc',
    'gapMs: the outageGap (ms)',
    'epoch: the one the node joined',
    "seen: the write counter its last acknowledged heartbeat answered ('' for none since it joined)",
    "highest: the highest write counter any reply answered it since it joined ('' for none)",
  ],
  reply: `{'ok', nowMs, outage (1 when this tick found that nobody had ticked for gapMs), writes, ver,
graceFrom (when the last outage ended, '' for none: the partitions of layout 3 push their deadlines
from it), {live node...}}
| {'RESET', epoch, recovering ('1': the new epoch is a rollback's, found by another node)}
| {'ROLLBACK', epoch} | {'NODE_FENCED', status}`,
  uses: ['decimal', 'time', 'nodeStatus', 'tick', 'stale'],
  body: `
local nodeId, inc, gapMs, epoch, seen = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local why = stale(nodeId, epoch, seen, ARGV[6])
if why == 'reset' then
  local m = redis.call('HMGET', k('meta'), 'epoch', 'recovery')
  return {'RESET', m[1] or '', m[2] and '1' or '0'}
end
if why == 'rollback' then return {'ROLLBACK', redis.call('HGET', k('meta'), 'epoch')} end
local status = nodeStatus(nodeId, inc)
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED', status} end
local outage = tick(gapMs)
redis.call('ZADD', k('nodes'), s(nowMs), nodeId)
local m = redis.call('HMGET', k('meta'), 'writes', 'ver', 'graceFrom')
redis.call('HSET', k('node', nodeId), 'heartbeatAt', s(nowMs), 'wseen', m[1])
return {'ok', s(nowMs), s(outage), m[1], m[2] or '0', m[3] or '', redis.call('ZRANGE', k('nodes'), 0, -1)}
`,
});
