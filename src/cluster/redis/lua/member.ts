import { defineScript } from './defineScript.js';

/** A partition of the partitioned layout is told what changed in the membership. */
export const memberScript = defineScript({
  name: 'member',
  does: `Run in each partition of the partitioned layout (3) when the membership changes (a join, a
node declared dead): brings the partition's copies up to date, which its scripts check instead of
the membership's keys (a node's incarnation and state, the live nodes, the epoch and the recovery
that runs). An incarnation told 'alive' is written unless the copy already holds a later one; an
earlier one the copy still holds alive is ended first. An incarnation told 'dead' is ended when the
copy holds it alive or leaving: its clients there are queued for release ({P}:reaping), its
unfinished deletions there become orphans. The epoch is copied; a recovery id other than the one
the partition runs starts it there (its settling gate and drop step run per partition).`,
  keys: [
    'the partition meta hash ({P}:meta)',
    'the live nodes, as the partition knows them ({P}:nodes)',
    'the incarnations to reap ({P}:reaping)',
    'the orphaned deletions ({P}:orphans)',
    'the clients a recovery drops ({P}:unheld)',
    "... per node told, in the order of ARGV: its copy ({P}:node:<nodeId>); discovered: an ended incarnation's owned set, deletions and journal entries",
  ],
  argv: [
    "epoch: the membership's ('' to leave it)",
    "recovery: the id of the recovery that runs ('' for none)",
    'recoveryAt: when it began (ms)',
    "... triples: nodeId, inc, 'alive' | 'dead'",
  ],
  reply: 'how many incarnations it ended',
  uses: ['discover', 'incarnationKeys', 'endIncarnation'],
  body: `
local epoch, recovery, recoveryAt = ARGV[1], ARGV[2], ARGV[3]
-- every key this call may touch, read before its first write: what ending each incarnation touches
local ends, seen = {}, {}
for i = 4, #ARGV - 2, 3 do
  local n, inc, state = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local v = redis.call('HMGET', k('node', n), 'inc', 'state')
  local live = v[1] and (v[2] == 'alive' or v[2] == 'leaving')
  local key = n .. ':' .. (v[1] or '')
  if live and not seen[key] and ((state == 'dead' and v[1] == inc) or (state == 'alive' and tonumber(v[1]) < tonumber(inc))) then
    seen[key] = true
    incarnationKeys(n, v[1])
    table.insert(ends, {n, v[1]})
  end
end
local meta = k('meta')
if epoch ~= '' then redis.call('HSET', meta, 'epoch', epoch) end
if recovery ~= '' and redis.call('HGET', meta, 'recovery') ~= recovery then
  redis.call('HSET', meta, 'recovery', recovery, 'recoveryAt', recoveryAt)
  redis.call('HDEL', meta, 'recoveryPhase')
  redis.call('DEL', k('unheld'))
end
for _, e in ipairs(ends) do endIncarnation(e[1], e[2], 'dead', false) end
for i = 4, #ARGV - 2, 3 do
  local n, inc, state = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local nk = k('node', n)
  if state == 'alive' then
    local v = redis.call('HMGET', nk, 'inc', 'state')
    local cur = tonumber(v[1]) or 0
    if cur < tonumber(inc) then
      redis.call('HSET', nk, 'inc', inc, 'state', 'alive')
      redis.call('PERSIST', nk)
      redis.call('ZADD', k('nodes'), '0', n)
    elseif cur == tonumber(inc) and v[2] == 'alive' then
      redis.call('ZADD', k('nodes'), '0', n)
    end
  end
end
return #ends
`,
});
