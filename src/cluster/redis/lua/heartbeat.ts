import { defineScript } from './defineScript.js';

/** Keeps an incarnation alive, and tells it when it was fenced or Redis lost its data. */
export const heartbeatScript = defineScript({
  name: 'heartbeat',
  does: `Keeps the incarnation alive ({P}:nodes score = Redis TIME). RESET: the cluster's epoch is not
the one the node joined (Redis lost its data): the node must join again and restore its clients.
NODE_FENCED: this incarnation was declared dead (or left): it has lost every client it held and
must join again as a new incarnation.`,
  keys: ['the live nodes ({P}:nodes)'],
  argv: ['nodeId', 'inc', 'gapMs: the outageGap (ms)', 'epoch: the one the node joined'],
  reply: `{'ok', nowMs, outage (1 when this tick found that nobody had ticked for gapMs)}
| {'RESET', epoch} | {'NODE_FENCED', status}`,
  uses: ['decimal', 'time', 'nodeStatus', 'tick'],
  body: `
local nodeId, inc, gapMs, epoch = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local current = redis.call('HGET', k('meta'), 'epoch')
if current ~= epoch then return {'RESET', current or ''} end
local status = nodeStatus(nodeId, inc)
if status ~= 'alive' and status ~= 'leaving' then return {'NODE_FENCED', status} end
local outage = tick(gapMs)
redis.call('ZADD', k('nodes'), s(nowMs), nodeId)
redis.call('HSET', k('node', nodeId), 'heartbeatAt', s(nowMs))
return {'ok', s(nowMs), s(outage)}
`,
});
