import { SNAPSHOT_KEYS } from '../../../machines/clientSnapshot.js';
import { DATA_INLINE_MAX, DELETION_FIELDS, luaList, RECORD_FIELDS } from './fields.js';

/**
 * One piece of Lua several scripts share: the locals it assigns (`provides`), the fragments it
 * needs (`uses`), and its source. A script declares the fragments its body calls;
 * {@link resolveFragments} adds what those need, each once, in the order below. A fragment assigns
 * its locals (`read = function(rec)`) rather than declaring them: the script declares them all on
 * its first line and runs its body first (see `defineScript`), so the body's line numbers are
 * nearly its own in Redis's errors.
 */
export interface Fragment {
  readonly uses: readonly string[];
  readonly provides: readonly string[];
  readonly source: string;
  /** Its source in the test build (the key check, `defineScript`), when it differs. */
  readonly checked?: string;
}

/**
 * The fragments, each after the ones it uses (the order they run in, before the body). Every key
 * a script builds (`k('c', id)`) is under the hash tag of `KEYS[1]`, and is declared in `KEYS` or
 * `discover`ed before the first write.
 */
const FRAGMENTS = {
  /**
   * `k('c', id)` → `{sup}:c:<id>`: the name of a key, under the hash tag of `KEYS[1]` (every key
   * of a script is in its slot). Every key a script touches is in `KEYS` (the store builds them,
   * `keys.ts`), or, when its name is only known from what the script reads (a previous owner's
   * owned set, the clients of a due deadline), it is `discover`ed before the script's first write.
   */
  key: {
    uses: [],
    provides: ['P', 'k'],
    source: `P = string.match(KEYS[1] or '', '^{[^}]*}')
k = function(...)
  return P .. ':' .. table.concat({...}, ':')
end`,
  },
  /**
   * Keys whose names the script learnt from what it read (not in `KEYS`): read before the script's
   * first write (one `EXISTS` for them all; answers them), so that while its slot is being migrated Redis stops the script on it
   * (`non local key`) before anything is written, and the runner sends it again as a script
   * that did not run (docs/partitions.md, finding 2). `found(key)` is the same without the
   * `EXISTS`, for a key the caller reads at once (`read(found(k('c', id)))`), or in a script that
   * writes nothing. The test build also checks that no write came first (the write counter's own
   * excepted: a higher counter is all a stop after it leaves).
   */
  discover: {
    uses: [],
    provides: ['discover', 'found'],
    source: `discover = function(...)
  redis.call('EXISTS', ...)
  return ...
end
found = function(key)
  return key
end`,
    checked: `discover = function(...)
  for _, key in ipairs({...}) do KEYCHECK.discover(key) end
  redis.call('EXISTS', ...)
  return ...
end
found = function(key)
  KEYCHECK.discover(key)
  return key
end`,
  },
  decimal: {
    uses: [],
    provides: ['s'],
    source: `s = function(n)
  return string.format('%.0f', n)
end`,
  },
  /** Redis `TIME`, the only clock a script uses. */
  time: {
    uses: [],
    provides: ['nowMs', 'nowUs'],
    source: `local t = redis.call('TIME')
nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])`,
  },
  /** The snapshot's fields (`SNAPSHOT_KEYS`), for scripts that write a snapshot field by field. */
  snapshotFields: {
    uses: [],
    provides: ['SNAPSHOT'],
    source: `SNAPSHOT = ${luaList(SNAPSHOT_KEYS)}`,
  },
  /** A deletion journal entry's fields (`DELETION_FIELDS`), in the order scripts return them. */
  deletionFields: {
    uses: [],
    provides: ['DEL'],
    source: `DEL = ${luaList(DELETION_FIELDS)}`,
  },
  /**
   * A record as a table (`read`), or in `RECORD_FIELDS` order as a reply (`flat`). Its `data` is
   * in its hash when short (`DATA_INLINE_MAX`), else in its data key (`dataKey(rec)`, `{P}:x:<id>`),
   * read only then: a script that reads a record declares (or discovers) that key too. A record of
   * key layout 1 holds every `data` in its hash, which reads the same.
   */
  read: {
    uses: ['key'],
    provides: ['SNAP', 'read', 'flat', 'dataKey'],
    source: `SNAP = ${luaList(RECORD_FIELDS)}
dataKey = function(rec)
  return P .. ':x:' .. string.sub(rec, #P + 4)
end
read = function(rec)
  local v = redis.call('HMGET', rec, unpack(SNAP))
  if not v[1] then return nil end
  local r = {}
  for i, f in ipairs(SNAP) do r[f] = v[i] or '' end
  if not v[${RECORD_FIELDS.indexOf('data') + 1}] then r.data = redis.call('GET', dataKey(rec)) or '' end
  return r
end
flat = function(r)
  local out = {}
  for i, f in ipairs(SNAP) do out[i] = r[f] or '' end
  return out
end`,
  },
  /**
   * Writes a record's `data`: a short one (`DATA_INLINE_MAX` bytes or less) joins `fields`, the
   * field-value pairs the caller then writes to the hash; a longer one goes to the data key. Over a
   * record that exists (`existing`), the other place is cleared, so a record has its data in one.
   */
  storeData: {
    uses: ['read'],
    provides: ['storeData'],
    source: `storeData = function(rec, data, fields, existing)
  if #data > ${DATA_INLINE_MAX} then
    redis.call('SET', dataKey(rec), data)
    if existing then redis.call('HDEL', rec, 'data') end
  else
    table.insert(fields, 'data')
    table.insert(fields, data)
    if existing then redis.call('DEL', dataKey(rec)) end
  end
end`,
  },
  /**
   * A fence only rises: Redis TIME in microseconds, or one more than the last when the clock has
   * not moved past it. Never reissued, even if Redis loses its last writes (AOF everysec) or all
   * its data, as long as its clock does not step back.
   */
  fence: {
    uses: ['time'],
    provides: ['nextFence'],
    source: `nextFence = function(prev)
  local p = tonumber(prev) or 0
  if nowUs > p then return nowUs end
  return p + 1
end`,
  },
  /** 'alive', 'leaving', 'dead', 'left', or 'stale' (another incarnation, or no such node). */
  nodeStatus: {
    uses: ['key'],
    provides: ['nodeStatus'],
    source: `nodeStatus = function(nodeId, inc)
  local r = redis.call('HMGET', k('node', nodeId), 'inc', 'state')
  if not r[1] or r[1] ~= inc then return 'stale' end
  return r[2] or 'stale'
end`,
  },
  /** Moves a client between the state sets (`nil` or '' for none). */
  moveState: {
    uses: ['key'],
    provides: ['moveState'],
    source: `moveState = function(id, from, to)
  if from == to then return end
  if from and from ~= '' then redis.call('SREM', k('state', from), id) end
  if to and to ~= '' then redis.call('SADD', k('state', to), id) end
end`,
  },
  /**
   * The ownership version (`{P}:meta` `ver`): raised once by a step that takes a client from its
   * owner or sends an owner a notice (which pub/sub may lose). A node re-checks the clients it
   * holds only when it moved since its last re-check (docs/partitions.md: per partition).
   */
  ownership: {
    uses: ['key'],
    provides: ['moved', 'ownershipMoved'],
    source: `moved = false
ownershipMoved = function()
  if moved then return end
  redis.call('HINCRBY', k('meta'), 'ver', 1)
  moved = true
end`,
  },
  /** Moves a client between the owned sets of incarnations ('' for unowned). */
  moveOwner: {
    uses: ['key', 'ownership'],
    provides: ['moveOwner'],
    source: `moveOwner = function(id, fromNode, fromInc, toNode, toInc)
  if fromNode ~= '' then
    redis.call('SREM', k('owned', fromNode, fromInc), id)
    if fromNode ~= toNode or fromInc ~= toInc then ownershipMoved() end
  end
  if toNode ~= '' then redis.call('SADD', k('owned', toNode, toInc), id) end
end`,
  },
  /**
   * A notice to a node (`replaced`, `deleted`, `message`, `hook-due`), on its channel. Notices and
   * announcements use sharded pub/sub (`SPUBLISH`, Redis 7): on a Redis Cluster a plain `PUBLISH`
   * is sent to every node over the cluster bus, an `SPUBLISH` only to the master of the channel's
   * slot (every channel is under the script's hash tag, so in its slot).
   */
  notify: {
    uses: ['key', 'ownership'],
    provides: ['notify'],
    source: `notify = function(nodeId, msg)
  if nodeId ~= '' then
    redis.call('SPUBLISH', k('notice', nodeId), cjson.encode(msg))
    ownershipMoved()
  end
end`,
  },
  /** Tells whoever waits in `connected()` for a client (on any node) that it `connected` or was `deleted`. */
  announce: {
    uses: ['key'],
    provides: ['announce'],
    source: `announce = function(id, what)
  redis.call('SPUBLISH', k('watch', id), what)
end`,
  },
  /**
   * Deletes a live client in one step: record, data key, indexes, outbox, tombstone, and a deletion journal
   * entry assigned to the node that will run onDelete, with the number of messages its page never
   * acknowledged (plus `extra`: an overflowing message that was not queued). Returns the entry
   * (DEL order).
   */
  deleteClient: {
    uses: [
      'key',
      'decimal',
      'time',
      'snapshotFields',
      'deletionFields',
      'fence',
      'moveState',
      'moveOwner',
      'notify',
      'announce',
    ],
    provides: ['deleteClient'],
    source: `deleteClient = function(id, r, reason, deletionId, nodeId, inc, ttl, extra)
  local fence = s(nextFence(r.fence))
  local undelivered = redis.call('ZCARD', k('o', id)) + (extra or 0)
  redis.call('DEL', k('c', id), k('x', id), k('o', id), k('e', id))
  redis.call('ZREM', k('deadlines'), id)
  moveState(id, r.state, nil)
  moveOwner(id, r.node, r.inc, '', '')
  redis.call('SET', k('t', id), deletionId .. ' ' .. reason, 'PX', ttl)
  local d = k('d', deletionId)
  local entry = {'deletionId', deletionId, 'clientId', id, 'reason', reason, 'node', nodeId, 'inc', inc,
    'fence', fence, 'at', s(nowMs), 'redelivered', '0', 'attempts', '1', 'prevNode', r.node, 'prevInc', r.inc,
    'prevFence', r.fence, 'data', r.data, 'undelivered', s(undelivered)}
  for _, f in ipairs(SNAPSHOT) do
    table.insert(entry, f)
    table.insert(entry, r[f])
  end
  redis.call('HSET', d, unpack(entry))
  redis.call('SADD', k('dels', nodeId, inc), deletionId)
  if r.node ~= nodeId or r.inc ~= inc then
    notify(r.node, {type = 'deleted', clientId = id, inc = r.inc, fence = fence, socketId = r.socketId, reason = reason})
  end
  announce(id, 'deleted')
  return redis.call('HMGET', d, unpack(DEL))
end`,
  },
  /**
   * Lets go of a client whose owner is dead or leaving: a connected one becomes disconnected with
   * a fresh grace period; every one becomes unowned, its fence raised.
   */
  release: {
    uses: ['key', 'decimal', 'time', 'read', 'fence', 'moveState', 'moveOwner'],
    provides: ['release'],
    source: `release = function(id, owner, rt)
  local rec = k('c', id)
  local r = read(rec)
  if not r or (r.node .. ':' .. r.inc) ~= owner then return 0 end
  local fence = s(nextFence(r.fence))
  moveOwner(id, r.node, r.inc, '', '')
  if r.state == 'connected' then
    local exp = nowMs + rt
    redis.call('HSET', rec, 'state', 'disconnected', 'socketId', '', 'lastSocketId', r.socketId,
      'disconnectedAt', s(nowMs), 'expiresAt', s(exp), 'generation', s((tonumber(r.generation) or 0) + 1),
      'node', '', 'inc', '', 'fence', fence)
    redis.call('ZADD', k('deadlines'), s(exp), id)
    moveState(id, 'connected', 'disconnected')
  else
    redis.call('HSET', rec, 'node', '', 'inc', '', 'fence', fence)
  end
  return 1
end`,
  },
  /**
   * The keys of a record's owner a script writes (the owned set of its incarnation) and, with
   * withNode, reads (its node hash), `discover`ed: the store could not name them before the script
   * read the record.
   */
  ownerKeys: {
    uses: ['key', 'discover'],
    provides: ['ownerKeys'],
    source: `ownerKeys = function(r, withNode)
  if r and r.node ~= '' then
    if withNode then discover(k('node', r.node), k('owned', r.node, r.inc)) else discover(k('owned', r.node, r.inc)) end
  end
end`,
  },
  /**
   * The keys `endIncarnation` and `forgetNode` touch for an incarnation (its node hash, owned set,
   * deletions and their journal entries), `discover`ed: called before the script's first write.
   * Answers the deletions (ids).
   */
  incarnationKeys: {
    uses: ['key', 'discover'],
    provides: ['incarnationKeys'],
    source: `incarnationKeys = function(nodeId, inc)
  discover(k('node', nodeId), k('owned', nodeId, inc))
  local dids = redis.call('SMEMBERS', found(k('dels', nodeId, inc)))
  for _, did in ipairs(dids) do discover(k('d', did)) end
  return dids
end`,
  },
  /**
   * A node hash whose incarnation ended (left or dead) and whose clients are all released is kept a
   * day (how many incarnations the id had, for a late write of an old one), then expires: a restart
   * under a fresh id (the default, a host name) leaves nothing behind for good.
   */
  forgetNode: {
    uses: ['key'],
    provides: ['forgetNode'],
    source: `forgetNode = function(nodeId, inc)
  local nk = k('node', nodeId)
  local v = redis.call('HMGET', nk, 'inc', 'state')
  if v[1] == inc and v[2] ~= 'alive' and v[2] ~= 'leaving' and redis.call('EXISTS', k('owned', nodeId, inc)) == 0 then
    redis.call('PEXPIRE', nk, 86400000)
  end
end`,
  },
  /**
   * Ends an incarnation ('dead' or 'left'): its clients are queued for release (`{P}:reaping`), its
   * unfinished deletions become orphans for another node to redeliver. With `mark` (the membership
   * of a partitioned layout, which owns no client) it is queued even without an owned set: until
   * every partition has been told (the store's `member` fan-out), then the store takes it out.
   */
  endIncarnation: {
    uses: ['key', 'forgetNode'],
    provides: ['endIncarnation'],
    source: `endIncarnation = function(nodeId, inc, state, mark)
  local nk = k('node', nodeId)
  if redis.call('HGET', nk, 'inc') == inc then
    redis.call('HSET', nk, 'state', state)
    redis.call('ZREM', k('nodes'), nodeId)
  end
  if mark or redis.call('EXISTS', k('owned', nodeId, inc)) == 1 then
    redis.call('SADD', k('reaping'), nodeId .. ':' .. inc)
  end
  local dels = k('dels', nodeId, inc)
  for _, did in ipairs(redis.call('SMEMBERS', dels)) do
    redis.call('HSET', k('d', did), 'node', '', 'inc', '')
    redis.call('SADD', k('orphans'), did)
  end
  redis.call('DEL', dels)
  forgetNode(nodeId, inc)
end`,
  },
  /**
   * Every node ticks (join, heartbeat, sweep, reap). No tick for longer than gapMs means nobody
   * could reach Redis (an outage, a restart, or every node down): time spent there must not count
   * against anyone, so every live node gets a fresh heartbeat and every deadline that is due by
   * now gets a fresh grace period (the sweep pushes them, from graceFrom down).
   */
  tick: {
    uses: ['key', 'decimal', 'time'],
    provides: ['tick'],
    source: `tick = function(gapMs)
  local meta = k('meta')
  local last = tonumber(redis.call('HGET', meta, 'lastTick'))
  local outage = 0
  if last and nowMs - last > gapMs then
    for _, n in ipairs(redis.call('ZRANGE', k('nodes'), 0, -1)) do
      redis.call('ZADD', k('nodes'), s(nowMs), n)
    end
    redis.call('HSET', meta, 'graceFrom', s(nowMs))
    outage = 1
  end
  redis.call('HSET', meta, 'lastTick', s(nowMs))
  return outage
end`,
  },
  /**
   * The write counter (`{P}:meta` `writes`): every script that writes raises it by one before its
   * body runs (`defineScript` adds the call), so it only rises, unless Redis goes back to an older
   * copy of its data (a snapshot restored, an AOF tail lost, a lagging replica promoted).
   */
  writes: {
    uses: ['key'],
    provides: ['bump'],
    source: `bump = function()
  return redis.call('HINCRBY', k('meta'), 'writes', 1)
end`,
  },
  /**
   * Whether the caller's view of Redis is stale: 'reset' when the epoch is not the one it joined
   * (Redis lost its data, or another node found it rolled back); 'rollback' when Redis went back to
   * older data with the same epoch: the write counter its last acknowledged heartbeat stored in its
   * node hash (`wseen`) is below the one that heartbeat answered (`seen`), or the counter (raised
   * by this very script already) is not above the highest any reply since its join carried
   * (`highest`); '' for either means none yet. A rollback starts a new epoch, so every node rejoins and writes back what it holds, and a
   * recovery (`recovery`: its id, `recoveryAt`) during which nothing is swept, released or
   * redelivered (see recoverStep).
   */
  stale: {
    uses: ['key', 'decimal', 'time'],
    provides: ['stale'],
    source: `stale = function(nodeId, epoch, seen, highest)
  local meta = k('meta')
  if redis.call('HGET', meta, 'epoch') ~= epoch then return 'reset' end
  local n, h = tonumber(seen), tonumber(highest)
  local behind = h and (tonumber(redis.call('HGET', meta, 'writes')) or 0) <= h
  if not behind and n then behind = (tonumber(redis.call('HGET', k('node', nodeId), 'wseen')) or 0) < n end
  if not behind then return nil end
  redis.call('HSET', meta, 'epoch', s(nowUs), 'recovery', s(nowUs), 'recoveryAt', s(nowMs))
  redis.call('HDEL', meta, 'recoveryPhase')
  redis.call('DEL', k('unheld'))
  return 'rollback'
end`,
  },
  /**
   * In a partition of the partitioned layout (3): whether the caller's view of it is stale, with
   * nothing written: the epoch the member fan-out copied into its meta is not the one the caller
   * joined (missing: the partition lost its data, or was never told), or its write counter (raised
   * by this very script) is not above the highest a reply from it carried (`highest`, '' for
   * none). The store then reports a rollback at its next heartbeat, which the global membership
   * recovers from (docs/partitions.md).
   */
  partitionStale: {
    uses: ['key'],
    provides: ['partitionStale'],
    source: `partitionStale = function(epoch, highest)
  local v = redis.call('HMGET', k('meta'), 'epoch', 'writes')
  if v[1] ~= epoch then return true end
  local h = tonumber(highest)
  return h ~= nil and (tonumber(v[2]) or 0) <= h
end`,
  },
  /**
   * Whether a recovery after a rollback is still settling: some live node (alive or leaving in
   * `{P}:nodes`) has not written back at its current incarnation (`wb` = recovery:inc in its node
   * hash). Until every one has, Redis may hold an older copy of a client a node holds a newer one
   * of, or a client deleted since whose tombstone its deleter has not written back: a claim must
   * not be decided on it. Reads every live node's hash (`found`: call it before any write).
   */
  settling: {
    uses: ['key', 'discover'],
    provides: ['settling'],
    source: `settling = function()
  local recovery = redis.call('HGET', k('meta'), 'recovery')
  if not recovery then return false end
  for _, n in ipairs(redis.call('ZRANGE', k('nodes'), 0, -1)) do
    local x = redis.call('HMGET', found(k('node', n)), 'inc', 'state', 'wb')
    if (x[2] == 'alive' or x[2] == 'leaving') and x[3] ~= recovery .. ':' .. x[1] then return true end
  end
  return false
end`,
  },
  /**
   * The clients the reap's recovery step (recoverStep) will look at, and the keys it will touch,
   * read before the reap's first write: while it drops, up to limit clients of `{P}:unheld`; in the
   * step that collects them (nodeTtl passed, every live node but those the reap ends wrote back),
   * the first limit clients no other live incarnation owns (SDIFF, a read). With each, its record
   * and data key, outbox, emit ids and owner. Answers those clients ({} while it waits), or nil when no recovery
   * runs.
   */
  recoverKeys: {
    uses: ['key', 'discover', 'time', 'read', 'ownerKeys'],
    provides: ['recoverKeys'],
    source: `recoverKeys = function(nodeTtl, limit, ending)
  local v = redis.call('HMGET', k('meta'), 'recovery', 'recoveryAt', 'recoveryPhase')
  if not v[1] then return nil end
  local ids = {}
  if v[3] == 'reaping' then
    ids = redis.call('SRANDMEMBER', k('unheld'), limit)
  else
    if nowMs < (tonumber(v[2]) or 0) + nodeTtl then return {} end
    -- every live node's hash and owned set (the step reads them all, in an order a tick may change)
    local held, waiting = {}, false
    for _, n in ipairs(redis.call('ZRANGE', k('nodes'), 0, -1)) do
      local x = redis.call('HMGET', found(k('node', n)), 'inc', 'state', 'wb')
      if x[2] == 'alive' or x[2] == 'leaving' then
        local owned = discover(k('owned', n, x[1]))
        if not ending[n] then
          if x[3] ~= v[1] .. ':' .. x[1] then waiting = true end
          table.insert(held, owned)
        end
      end
    end
    if waiting then return {} end
    for _, state in ipairs({'handshaking', 'connected', 'disconnected'}) do
      for _, id in ipairs(redis.call('SDIFF', k('state', state), unpack(held))) do
        if #ids >= limit then break end
        table.insert(ids, id)
      end
    end
  end
  for _, id in ipairs(ids) do
    found(k('x', id))
    local r = read(found(k('c', id)))
    if r then
      discover(k('o', id))
      discover(k('e', id))
      ownerKeys(r, true)
    end
  end
  return ids
end`,
  },
  /**
   * The recovery after a rollback, one step per reap: nil when none runs. It waits until nodeTtl
   * has passed since it began (every node still serving has heartbeated and been told to rejoin)
   * and every live node has written back at its current incarnation (`wb` = recovery:inc in its
   * node hash); then every client no live incarnation owns is collected (`{P}:unheld`) and dropped,
   * the ones recoverKeys picked (limit at a time), without a hook, a journal entry or a tombstone: a record Redis went back to that nobody holds. A record whose
   * fence is above the recovery's id was written since the rollback was found (a leave released it
   * into its grace period, a reap after a node's death, a new registration): it is kept, and its
   * deadline deletes it with `onDelete` once the recovery ends. Answers {dropped, more}.
   */
  recoverStep: {
    uses: ['key', 'time', 'read', 'moveState', 'moveOwner', 'announce'],
    provides: ['recoverStep'],
    source: `recoverStep = function(nodeTtl, ids)
  local meta = k('meta')
  local v = redis.call('HMGET', meta, 'recovery', 'recoveryAt', 'recoveryPhase')
  if not v[1] then return nil end
  local function liveOwner(node, inc)
    if not node or node == '' then return false end
    local x = redis.call('HMGET', k('node', node), 'inc', 'state')
    return x[1] == inc and (x[2] == 'alive' or x[2] == 'leaving')
  end
  local unheld = k('unheld')
  if v[3] ~= 'reaping' then
    if nowMs < (tonumber(v[2]) or 0) + nodeTtl then return {0, 0} end
    local held = {}
    for _, n in ipairs(redis.call('ZRANGE', k('nodes'), 0, -1)) do
      local x = redis.call('HMGET', k('node', n), 'inc', 'state', 'wb')
      if x[2] == 'alive' or x[2] == 'leaving' then
        if x[3] ~= v[1] .. ':' .. x[1] then return {0, 0} end
        table.insert(held, k('owned', n, x[1]))
      end
    end
    redis.call('SUNIONSTORE', unheld, k('state', 'handshaking'), k('state', 'connected'), k('state', 'disconnected'))
    if #held > 0 then redis.call('SDIFFSTORE', unheld, unheld, unpack(held)) end
    redis.call('HSET', meta, 'recoveryPhase', 'reaping')
  end
  local dropped, recoveryId = 0, tonumber(v[1])
  for _, id in ipairs(ids) do
    local r = redis.call('SREM', unheld, id) == 1 and read(k('c', id))
    -- a fence above the recovery's id (both Redis TIME in µs): written since the rollback was
    -- found (released by a leave or a node's death, registered anew), so not a record Redis went back to
    if r and not liveOwner(r.node, r.inc) and (tonumber(r.fence) or 0) <= recoveryId then
      redis.call('DEL', k('c', id), k('x', id), k('o', id), k('e', id))
      redis.call('ZREM', k('deadlines'), id)
      moveState(id, r.state, nil)
      moveOwner(id, r.node, r.inc, '', '')
      announce(id, 'deleted')
      dropped = dropped + 1
    end
  end
  if redis.call('SCARD', unheld) > 0 then return {dropped, 1} end
  redis.call('HDEL', meta, 'recovery', 'recoveryAt', 'recoveryPhase')
  return {dropped, 0}
end`,
  },
} as const satisfies Record<string, Fragment>;

/** The name of a fragment a script may declare. */
export type FragmentName = keyof typeof FRAGMENTS;

/** Compile-time: every fragment uses only fragments that exist (else this names the unknown one). */
type UnknownUse = Exclude<(typeof FRAGMENTS)[FragmentName]['uses'][number], FragmentName>;
const _everyUseKnown: [UnknownUse] extends [never] ? true : UnknownUse = true;

/** The fragments in the order a script's source lists them. */
export const FRAGMENT_ORDER = Object.keys(FRAGMENTS) as FragmentName[];

/** Every fragment, by name (the static checks of the scripts read them). */
export const fragments: Readonly<Record<FragmentName, Fragment>> = FRAGMENTS;

/**
 * The fragments `names` need, each once, in the order they are defined above (so each comes after
 * the ones it uses). `key` is always first: every script builds its keys with it.
 */
export function resolveFragments(names: readonly FragmentName[]): FragmentName[] {
  const needed = new Set<FragmentName>();
  const visit = (name: FragmentName): void => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const dependency of FRAGMENTS[name].uses) visit(dependency as FragmentName);
  };
  for (const name of ['key', ...names] as const) visit(name);
  return FRAGMENT_ORDER.filter((name) => needed.has(name));
}
