import { createHash } from 'node:crypto';
import { SNAPSHOT_KEYS } from '../../machines/clientSnapshot.js';

/**
 * The fields of a client record every script returns (`HMGET rec ...RECORD_FIELDS`), in this
 * order: the snapshot's (`SNAPSHOT_KEYS`, the one list), then `data`, the owner (`node` and `inc`,
 * its incarnation) and `fence`. `tokenHash` and `lastSocketId` are kept in the record but never
 * returned.
 */
export const RECORD_FIELDS = [...SNAPSHOT_KEYS, 'data', 'node', 'inc', 'fence'] as const;

/**
 * The fields of a deletion journal entry, in the order scripts return them: the deletion, the
 * owner before it (`prevNode`, `prevInc`, `prevFence`), the client's snapshot and data as they
 * were, and how many messages were dropped with it.
 */
export const DELETION_FIELDS = [
  'deletionId',
  'clientId',
  'reason',
  'node',
  'inc',
  'fence',
  'at',
  'redelivered',
  'attempts',
  'prevNode',
  'prevInc',
  'prevFence',
  ...SNAPSHOT_KEYS,
  'data',
  'undelivered',
] as const;

/**
 * The outbox counters a client record keeps besides its snapshot (cluster delivery): the last
 * sequence number handed out, the highest one the page acknowledged, the size of the messages
 * kept, and when the oldest of them was queued (Redis TIME, ms; '' when none). Absent: 0.
 */
export const OUTBOX_FIELDS = ['seq', 'acked', 'obytes', 'oldestAt'] as const;

const luaList = (names: readonly string[]): string => `{${names.map((name) => `'${name}'`).join(', ')}}`;

/**
 * Helpers every script starts with. `ARGV[1]` is always the key prefix with its hash tag
 * (`{sup}`), so every key a script touches lives in the slot of the keys it declares.
 *
 * Numbers go back to Redis through `s()`: Lua 5.1's `tostring` prints 14 significant digits,
 * which would round a fence (Redis `TIME` in microseconds, 16 digits).
 */
const PRELUDE = `
local P = ARGV[1]
local function k(...)
  return P .. ':' .. table.concat({...}, ':')
end
local function s(n)
  return string.format('%.0f', n)
end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local SNAPSHOT = ${luaList(SNAPSHOT_KEYS)}
local SNAP = ${luaList(RECORD_FIELDS)}
local DEL = ${luaList(DELETION_FIELDS)}

local function read(rec)
  local v = redis.call('HMGET', rec, unpack(SNAP))
  if not v[1] then return nil end
  local r = {}
  for i, f in ipairs(SNAP) do r[f] = v[i] or '' end
  return r
end

local function flat(r)
  local out = {}
  for i, f in ipairs(SNAP) do out[i] = r[f] or '' end
  return out
end

-- a fence only rises: Redis TIME in microseconds, or one more than the last when the clock
-- has not moved past it. Never reissued, even if Redis loses its last writes (AOF everysec)
-- or all its data, as long as its clock does not step back.
local function nextFence(prev)
  local p = tonumber(prev) or 0
  if nowUs > p then return nowUs end
  return p + 1
end

-- 'alive', 'leaving', 'dead', 'left', or 'stale' (another incarnation, or no such node)
local function nodeStatus(nodeId, inc)
  local r = redis.call('HMGET', k('node', nodeId), 'inc', 'state')
  if not r[1] or r[1] ~= inc then return 'stale' end
  return r[2] or 'stale'
end

local function moveState(id, from, to)
  if from == to then return end
  if from and from ~= '' then redis.call('SREM', k('state', from), id) end
  if to and to ~= '' then redis.call('SADD', k('state', to), id) end
end

local function moveOwner(id, fromNode, fromInc, toNode, toInc)
  if fromNode ~= '' then redis.call('SREM', k('owned', fromNode, fromInc), id) end
  if toNode ~= '' then redis.call('SADD', k('owned', toNode, toInc), id) end
end

local function notify(nodeId, msg)
  if nodeId ~= '' then redis.call('PUBLISH', k('notice', nodeId), cjson.encode(msg)) end
end

-- Deletes a live client in one step: record, indexes, outbox, tombstone, and a deletion journal
-- entry assigned to the node that will run onDelete, with the number of messages its page never
-- acknowledged (plus \`extra\`: an overflowing message that was not queued). Returns the entry
-- (DEL order).
local function deleteClient(id, r, reason, deletionId, nodeId, inc, ttl, extra)
  local fence = s(nextFence(r.fence))
  local undelivered = redis.call('ZCARD', k('o', id)) + (extra or 0)
  redis.call('DEL', k('c', id), k('o', id), k('e', id))
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
  return redis.call('HMGET', d, unpack(DEL))
end

-- Lets go of a client whose owner is dead or leaving: a connected one becomes disconnected
-- with a fresh grace period; every one becomes unowned, its fence raised.
local function release(id, owner, rt)
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
end

-- Ends an incarnation ('dead' or 'left'): its clients are queued for release, its unfinished
-- deletions become orphans for another node to redeliver.
local function endIncarnation(nodeId, inc, state)
  local nk = k('node', nodeId)
  if redis.call('HGET', nk, 'inc') == inc then
    redis.call('HSET', nk, 'state', state)
    redis.call('ZREM', k('nodes'), nodeId)
  end
  if redis.call('EXISTS', k('owned', nodeId, inc)) == 1 then
    redis.call('SADD', k('reaping'), nodeId .. ':' .. inc)
  end
  local dels = k('dels', nodeId, inc)
  for _, did in ipairs(redis.call('SMEMBERS', dels)) do
    redis.call('HSET', k('d', did), 'node', '', 'inc', '')
    redis.call('SADD', k('orphans'), did)
  end
  redis.call('DEL', dels)
end

-- Every node ticks (join, heartbeat, sweep, reap). No tick for longer than gapMs means nobody
-- could reach Redis (an outage, a restart, or every node down): time spent there must not count
-- against anyone, so every live node gets a fresh heartbeat and every deadline that is due by now
-- gets a fresh grace period (the sweep pushes them, from graceFrom down).
local function tick(gapMs)
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
end
`;

/** One Lua script: its name (for errors and counters), full source and SHA1 (for EVALSHA). */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** A script is the prelude followed by its body; its SHA1 is computed here, as Redis would. */
export function defineLua(name: string, body: string): LuaScript {
  const source = `-- socket.io-supervisor cluster: ${name}\n${PRELUDE}\n${body}`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}
