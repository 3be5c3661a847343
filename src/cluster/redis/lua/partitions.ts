import { defineScript } from './defineScript.js';

/** What several partitions of one master hold, read in one call. A read. */
export const partitionsScript = defineScript({
  name: 'partitions',
  does: `Reads, in one call, the same thing from several partitions of the partitioned layout (3) that
one Redis serves (on a Redis Cluster, one master: allow-cross-slot-keys lets a script reach keys of
its other slots): 'versions', each partition's ownership version (the heartbeat's re-check runs only
when one moved), its write counter (below what a node's own writes there answered: the partition
went back to older data, though no reply of that node's showed it yet) and who served it (the
cluster node id, the run id, the replication ids: a restart or a promoted replica may have lost
acknowledged writes); 'counts', each one's handshaking, connected and disconnected clients; 'owned', how
many clients each of the given incarnations owns there; 'due', whether a deadline is due by now
(Redis TIME), whether it has any, the last outage its sweep pushed deadlines for (graceSeen),
whether its reap has work (incarnations to reap, orphaned deletions, a recovery), and whether the
partition's copy holds the caller's incarnation ended (dead or left, or a later one alive): a node
sweeps and reaps only the partitions that have work, and sweeps one that holds it ended so that its
sweep answers fenced even with nothing due.`,
  keys: [
    "the first partition's meta hash ({P}:meta): where the call goes; every key read is discovered from the tags in ARGV",
  ],
  argv: [
    "what: 'versions' | 'counts' | 'owned' | 'due'",
    'n: how many partition tags follow',
    "... the partition tags (each partition's hash tag, braces included)",
    "... with 'owned': the incarnations, '<node>:<inc>'; with 'due': the caller's node id and incarnation",
  ],
  reply: `'versions': {{ver, writes, '<myid> <run_id> <master_replid> <master_replid2>'}...}; 'counts': {{handshaking, connected, disconnected}...}; 'owned': {{count per
incarnation}...}; 'due': {{due ('1'/'0'), any ('1'/'0'), graceSeen, reap ('1'/'0'), ended ('1'/'0')}...}: one entry per
tag, in their order`,
  uses: ['discover', 'time'],
  readOnly: true,
  crossSlot: true,
  body: `
local what, n = ARGV[1], tonumber(ARGV[2])
local out = {}
local server = ''
if what == 'versions' then
  -- who answers: the cluster node id (an error without cluster mode), this process's run id, the
  -- replication ids (a promoted replica has its old master's as master_replid2)
  local myid = redis.pcall('CLUSTER', 'MYID')
  local info = redis.call('INFO', 'server') .. redis.call('INFO', 'replication')
  server = table.concat({type(myid) == 'string' and myid or '', string.match(info, 'run_id:(%x+)') or '',
    string.match(info, 'master_replid:(%x+)') or '', string.match(info, 'master_replid2:(%x+)') or ''}, ' ')
end
for i = 3, n + 2 do
  local tag = ARGV[i]
  if what == 'versions' then
    local meta = redis.call('HMGET', found(tag .. ':meta'), 'ver', 'writes')
    table.insert(out, {meta[1] or '0', meta[2] or '0', server})
  elseif what == 'counts' then
    table.insert(out, {redis.call('SCARD', found(tag .. ':state:handshaking')),
      redis.call('SCARD', found(tag .. ':state:connected')), redis.call('SCARD', found(tag .. ':state:disconnected'))})
  elseif what == 'due' then
    local first = redis.call('ZRANGE', found(tag .. ':deadlines'), 0, 0, 'WITHSCORES')
    local due = first[2] and tonumber(first[2]) <= nowMs
    local meta = redis.call('HMGET', found(tag .. ':meta'), 'graceSeen', 'recovery')
    local reap = meta[2] or redis.call('SCARD', found(tag .. ':reaping')) > 0 or redis.call('SCARD', found(tag .. ':orphans')) > 0
    -- the copy of the caller's node (a copy that lacks it lost its data: the calls of its clients find that)
    local copy = redis.call('HMGET', found(tag .. ':node:' .. ARGV[n + 3]), 'inc', 'state')
    local held = tonumber(copy[1]) or 0
    local mine = tonumber(ARGV[n + 4]) or 0
    local ended = held > mine or (held == mine and copy[2] ~= 'alive' and copy[2] ~= 'leaving')
    table.insert(out, {due and '1' or '0', first[2] and '1' or '0', meta[1] or '0', reap and '1' or '0', ended and '1' or '0'})
  else
    local counts = {}
    for j = n + 3, #ARGV do table.insert(counts, redis.call('SCARD', found(tag .. ':owned:' .. ARGV[j]))) end
    table.insert(out, counts)
  end
end
return out
`,
});
