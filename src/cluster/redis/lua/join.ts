import { defineScript } from './defineScript.js';

/** A new incarnation of a node. */
export const joinScript = defineScript({
  name: 'join',
  does: `Starts a new incarnation of nodeId. Creates the cluster's epoch when Redis holds none (first
start, or Redis lost its data). A previous incarnation still alive or leaving (the same node id
restarted before anyone declared it dead) is ended as dead first: its clients get a grace period,
its unfinished deletions are redelivered.`,
  keys: ['the cluster meta hash ({P}:meta)'],
  argv: ['nodeId', 'gapMs: the outageGap (ms)'],
  reply: `{inc, epoch, nowMs, endedInc ('' when none)}`,
  uses: ['decimal', 'time', 'endIncarnation', 'tick'],
  body: `
local nodeId, gapMs = ARGV[2], tonumber(ARGV[3])
local meta = k('meta')
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = s(nowUs)
  redis.call('HSET', meta, 'epoch', epoch, 'lastTick', s(nowMs))
end
tick(gapMs)
local nk = k('node', nodeId)
local prev = redis.call('HMGET', nk, 'inc', 'state')
local ended = ''
if prev[1] and (prev[2] == 'alive' or prev[2] == 'leaving') then
  endIncarnation(nodeId, prev[1], 'dead')
  ended = prev[1]
end
local inc = redis.call('HINCRBY', nk, 'inc', 1)
redis.call('HSET', nk, 'state', 'alive', 'joinedAt', s(nowMs), 'heartbeatAt', s(nowMs))
redis.call('ZADD', k('nodes'), s(nowMs), nodeId)
return {s(inc), epoch, s(nowMs), ended}
`,
});
