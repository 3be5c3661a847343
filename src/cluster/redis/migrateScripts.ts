import { createHash } from 'node:crypto';
import type { BuiltScript } from './lua/defineScript.js';
import { type FragmentName, fragments, resolveFragments } from './lua/fragments.js';

/**
 * The Lua scripts of the migration to the partitioned key layout (`migrate.ts`). They are not the
 * store's (`lua/`): no write counter, run once per client by an offline command. Each runs under
 * one hash tag, that of its `KEYS[1]` (the `key` fragment), so on a Redis Cluster each is one
 * slot's: reading and deleting a client's old keys under `{prefix}`, writing its new ones under
 * `{prefix:p<i>}`. A key it can only name from what it read (an owned set, a deletion's `dels`
 * set) is in the same slot as its declared keys.
 */
function build(name: string, body: string, uses: readonly FragmentName[], readOnly: boolean): BuiltScript {
  const included = resolveFragments(uses);
  const locals = included.flatMap((fragment) => fragments[fragment].provides);
  const source = [
    readOnly ? '#!lua flags=no-writes' : '#!lua',
    `-- socket.io-supervisor migrate:partitions: ${name}`,
    `local ${locals.join(', ')}`,
    'local function main()',
    body.trim(),
    'end',
    ...included.map((fragment) => fragments[fragment].source),
    'return main()',
    '',
  ].join('\n');
  const sha = createHash('sha1').update(source).digest('hex');
  return { name: `migrate-${name}`, source, sha, fragments: included, body, writes: false };
}

/**
 * The check, then the lock, in one step on the membership (`KEYS`: `{P}:schema`, `{P}:nodes`).
 * Refuses a schema it does not migrate from (layout 3 already: `DONE`; another layout: `UNKNOWN`;
 * a migration to another partition count under way: `OTHER`) and a live node (alive or leaving,
 * heartbeat within nodeTtl: `LIVE`). Then, unless a dry run, ends every other incarnation still
 * alive or leaving as dead, as a layout-2 reap would (`endIncarnation`: its clients queued in
 * `{P}:reaping`, its unfinished deletions made orphans), and writes the schema `migrating` (with
 * the partition count and the layout it came from): a node of layout 2 or 3 refuses it
 * (`KEY_LAYOUT_MISMATCH`) until the migration ends. ARGV: partitions, nodeTtl, '1' for a dry run.
 * Reply: `{'OK', from, {'<node>:<inc>' ended...}}` | `{'LIVE', node, state, age}` |
 * `{'DONE', partitions}` | `{'OTHER', partitions}` | `{'UNKNOWN', layout, partitions}`.
 */
export const lockScript = build(
  'lock',
  `
local partitions, nodeTtl, dry = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'layout', 'partitions', 'from')
local layout = v[1] or ''
local from = layout
if layout == 'migrating' then
  if v[2] ~= partitions then return {'OTHER', v[2] or ''} end
  from = v[3] or ''
elseif layout == '3' then
  return {'DONE', v[2] or ''}
elseif not (layout == '' or layout == '1' or (layout == '2' and v[2] == '1')) then
  return {'UNKNOWN', layout, v[2] or ''}
end
local stale = {}
local beats = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #beats, 2 do
  local n, age = beats[i], nowMs - tonumber(beats[i + 1])
  local x = redis.call('HMGET', k('node', n), 'inc', 'state')
  if x[1] and (x[2] == 'alive' or x[2] == 'leaving') then
    if age < nodeTtl then return {'LIVE', n, x[2], string.format('%.0f', age)} end
    table.insert(stale, {n, x[1]})
  end
end
local ended = {}
for _, e in ipairs(stale) do
  if not dry then endIncarnation(e[1], e[2], 'dead', false) end
  table.insert(ended, e[1] .. ':' .. e[2])
end
if not dry and layout ~= 'migrating' then
  redis.call('HSET', KEYS[1], 'layout', 'migrating', 'partitions', partitions, 'from', layout)
end
return {'OK', from, ended}
`,
  ['endIncarnation'],
  false,
);

/**
 * The `KEYS` of the client scripts, under one tag: the indexes every client shares (deadlines, the
 * three state sets, unheld, reaping), then per client its record, data key, tombstone, outbox and
 * emit ids. An owned set (named by the record's owner) is in the same slot, not declared.
 */
export const SHARED_KEYS = 6;

/**
 * Clients' keys and index entries under `{prefix}`, read (`KEYS`: see {@link SHARED_KEYS}). ARGV:
 * the clientIds, in the order of their keys. Reply, per client: {record (HGETALL), {data} | {},
 * {tombstone, pttl} | {}, outbox (WITHSCORES), emit ids (WITHSCORES), {deadline} | {}, {state...},
 * unheld (0 | 1), owner ('<node>:<inc>' whose owned set holds it, or '')}.
 */
export const readClientsScript = build(
  'read-clients',
  `
local out = {}
for i, id in ipairs(ARGV) do
  local b = 6 + (i - 1) * 5
  local c, x, t = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3]
  local data = redis.call('GET', x)
  local tomb = redis.call('GET', t)
  local pttl = redis.call('PTTL', t)
  local deadline = redis.call('ZSCORE', KEYS[1], id)
  local states = {}
  for j = 2, 4 do
    if redis.call('SISMEMBER', KEYS[j], id) == 1 then table.insert(states, string.match(KEYS[j], ':state:(.*)$')) end
  end
  local owner = ''
  local o = redis.call('HMGET', c, 'node', 'inc')
  if o[1] and o[1] ~= '' and redis.call('SISMEMBER', k('owned', o[1], o[2] or ''), id) == 1 then
    owner = o[1] .. ':' .. (o[2] or '')
  end
  out[i] = {
    redis.call('HGETALL', c),
    data and {data} or {},
    tomb and {tomb, string.format('%.0f', pttl)} or {},
    redis.call('ZRANGE', KEYS[b + 4], 0, -1, 'WITHSCORES'),
    redis.call('ZRANGE', KEYS[b + 5], 0, -1, 'WITHSCORES'),
    deadline and {deadline} or {},
    states,
    redis.call('SISMEMBER', KEYS[5], id),
    owner,
  }
end
return out
`,
  [],
  true,
);

/**
 * Clients of one partition written into it, each over whatever an earlier, interrupted run wrote
 * there (`KEYS` as {@link readClientsScript}, under the partition's tag). ARGV[1]: the clients as
 * JSON, in the order of their keys (`{id, record, data, tomb, outbox, emitIds, deadline, states,
 * unheld, owner}`; optional values as lists of zero or one, sorted sets as score, member). An owned
 * client's owner is queued in the partition's `reaping`: every incarnation of the old layout was
 * ended before (`lockScript`), so the partition reap of a node of layout 3 releases it, as it
 * releases the clients of an incarnation that ended in layout 3.
 */
export const writeClientsScript = build(
  'write-clients',
  `
local function chunked(cmd, key, list)
  for i = 1, #list, 400 do
    local part = {}
    for j = i, math.min(i + 399, #list) do part[#part + 1] = list[j] end
    redis.call(cmd, key, unpack(part))
  end
end
for i, a in ipairs(cjson.decode(ARGV[1])) do
  local id = a.id
  local b = 6 + (i - 1) * 5
  local c, x, t, o, e = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5]
  redis.call('DEL', c, x, t, o, e)
  if #a.record > 0 then chunked('HSET', c, a.record) end
  if #a.data > 0 then redis.call('SET', x, a.data[1]) end
  if #a.tomb > 0 then
    local pttl = tonumber(a.tomb[2])
    if pttl > 0 then redis.call('SET', t, a.tomb[1], 'PX', a.tomb[2])
    elseif pttl == -1 then redis.call('SET', t, a.tomb[1]) end
  end
  if #a.outbox > 0 then chunked('ZADD', o, a.outbox) end
  if #a.emitIds > 0 then chunked('ZADD', e, a.emitIds) end
  if #a.deadline > 0 then redis.call('ZADD', KEYS[1], a.deadline[1], id) else redis.call('ZREM', KEYS[1], id) end
  local in_state = {}
  for _, state in ipairs(a.states) do in_state[state] = true end
  for j = 2, 4 do
    if in_state[string.match(KEYS[j], ':state:(.*)$')] then redis.call('SADD', KEYS[j], id)
    else redis.call('SREM', KEYS[j], id) end
  end
  if a.unheld then redis.call('SADD', KEYS[5], id) else redis.call('SREM', KEYS[5], id) end
  if a.owner ~= '' then
    redis.call('SADD', k('owned', a.owner), id)
    redis.call('SADD', KEYS[6], a.owner)
  end
end
return 1
`,
  [],
  false,
);

/**
 * Clients' old keys and index entries deleted, each in one step with the others (`KEYS` as
 * {@link readClientsScript}). ARGV: per client, its id and owner ('<node>:<inc>' or '').
 */
export const dropClientsScript = build(
  'drop-clients',
  `
for i = 1, #ARGV, 2 do
  local id, owner = ARGV[i], ARGV[i + 1]
  local b = 6 + (i - 1) / 2 * 5
  redis.call('DEL', KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5])
  redis.call('ZREM', KEYS[1], id)
  for j = 2, 5 do redis.call('SREM', KEYS[j], id) end
  if owner ~= '' then redis.call('SREM', k('owned', owner), id) end
end
return 1
`,
  [],
  false,
);

/**
 * A deletion journal entry and its set memberships, read (`KEYS`: the entry, orphans). ARGV: its
 * id. Reply: {entry (HGETALL), orphan (0 | 1), the incarnation whose `dels` set holds it ('' none)}.
 */
export const readDeletionScript = build(
  'read-deletion',
  `
local did = ARGV[1]
local entry = redis.call('HGETALL', KEYS[1])
local v = redis.call('HMGET', KEYS[1], 'node', 'inc')
local assigned = ''
if v[1] and v[1] ~= '' and redis.call('SISMEMBER', k('dels', v[1], v[2] or ''), did) == 1 then
  assigned = v[1] .. ':' .. (v[2] or '')
end
return {entry, redis.call('SISMEMBER', KEYS[2], did), assigned}
`,
  [],
  true,
);

/** A deletion written into its client's partition (`KEYS`: the entry, orphans). ARGV: its id, the entry as JSON, orphan ('1'), assigned. */
export const writeDeletionScript = build(
  'write-deletion',
  `
local did, entry, orphan, assigned = ARGV[1], cjson.decode(ARGV[2]), ARGV[3] == '1', ARGV[4]
redis.call('DEL', KEYS[1])
if #entry > 0 then redis.call('HSET', KEYS[1], unpack(entry)) end
if orphan then redis.call('SADD', KEYS[2], did) else redis.call('SREM', KEYS[2], did) end
if assigned ~= '' then redis.call('SADD', k('dels', assigned), did) end
return 1
`,
  [],
  false,
);

/** A deletion's old entry and memberships deleted in one step (`KEYS`: the entry, orphans). ARGV: its id, assigned. */
export const dropDeletionScript = build(
  'drop-deletion',
  `
local did, assigned = ARGV[1], ARGV[2]
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], did)
if assigned ~= '' then redis.call('SREM', k('dels', assigned), did) end
return 1
`,
  [],
  false,
);

/**
 * The end (`KEYS`: `{P}:schema`): each node hash named in ARGV (after the partition count) whose
 * incarnation ended and which has no expiry gets the day `forgetNode` gives it once its clients
 * are released (its owned sets are all in the partitions now), then the schema is written:
 * `{layout: 3, partitions}`.
 */
export const finishScript = build(
  'finish',
  `
for i = 2, #ARGV do
  local nk = k('node', ARGV[i])
  local v = redis.call('HMGET', nk, 'inc', 'state')
  if v[1] and v[2] ~= 'alive' and v[2] ~= 'leaving' and redis.call('PTTL', nk) == -1 then
    redis.call('PEXPIRE', nk, 86400000)
  end
end
redis.call('HSET', KEYS[1], 'layout', '3', 'partitions', ARGV[1])
redis.call('HDEL', KEYS[1], 'from')
return 1
`,
  [],
  false,
);

/** Every script of the migration (loaded once before it runs). */
export const MIGRATE_SCRIPTS: readonly BuiltScript[] = [
  lockScript,
  readClientsScript,
  writeClientsScript,
  dropClientsScript,
  readDeletionScript,
  writeDeletionScript,
  dropDeletionScript,
  finishScript,
];
