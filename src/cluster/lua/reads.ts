import { defineLua } from './prelude.js';

/**
 * list(state, node, cursor, limit) → {nextCursor, {clientId, ...snapshot, seq, acked, oldestAt}...}
 *
 * One page of clients, read from the state sets (`{P}:state:<state>`), or from a node's owned
 * set (its current incarnation) when `node` is given. About `limit` per page (SSCAN's COUNT is
 * a hint); `nextCursor` is '' at the end. As with SSCAN, a client present for the whole listing
 * is returned at least once.
 */
export const listLua = defineLua(
  'list',
  `
local state, node, cursor, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local phase, cur = string.match(cursor, '^(%d+):(%d+)$')
phase = tonumber(phase) or 1
cur = cur or '0'
local sets = {}
if node ~= '' then
  local inc = redis.call('HGET', k('node', node), 'inc')
  if inc then sets = {k('owned', node, inc)} end
elseif state ~= '' then
  sets = {k('state', state)}
else
  sets = {k('state', 'handshaking'), k('state', 'connected'), k('state', 'disconnected')}
end
local out = {}
local views = {}
while phase <= #sets and #views < limit do
  local res = redis.call('SSCAN', sets[phase], cur, 'COUNT', limit - #views)
  for _, id in ipairs(res[2]) do
    local r = read(k('c', id))
    if r and (state == '' or r.state == state) then
      local v = flat(r)
      table.insert(v, 1, id)
      for _, x in ipairs(redis.call('HMGET', k('c', id), 'seq', 'acked', 'oldestAt')) do table.insert(v, x or '') end
      table.insert(views, v)
    end
  end
  if res[1] == '0' then
    phase = phase + 1
    cur = '0'
  else
    cur = res[1]
  end
end
local nextCursor = ''
if phase <= #sets then nextCursor = phase .. ':' .. cur end
return {nextCursor, views}
`,
);

/** counts() → {handshaking, connected, disconnected, nodes}: cluster-wide, from the index sets. */
export const countsLua = defineLua(
  'counts',
  `
return {redis.call('SCARD', k('state', 'handshaking')), redis.call('SCARD', k('state', 'connected')),
  redis.call('SCARD', k('state', 'disconnected')), redis.call('ZCARD', k('nodes'))}
`,
);

/** nodes() → {{nodeId, inc, state, heartbeatAt, joinedAt, clients}...}: the live incarnations. */
export const nodesLua = defineLua(
  'nodes',
  `
local out = {}
for _, n in ipairs(redis.call('ZRANGE', k('nodes'), 0, -1)) do
  local v = redis.call('HMGET', k('node', n), 'inc', 'state', 'heartbeatAt', 'joinedAt')
  table.insert(out, {n, v[1] or '', v[2] or '', v[3] or '', v[4] or '', redis.call('SCARD', k('owned', n, v[1] or ''))})
end
return out
`,
);

/**
 * owned(nodeId, inc, clientId...) → {{clientId, fence, state, socketId, seq}...}
 *
 * Which of these clients this incarnation still owns, at which fence, and the last sequence number
 * of its outbox (a node that missed a `message` notice sends what it has not sent). A node that learns it was
 * fenced, or misses notices, asks this to find the clients it lost.
 */
export const ownedLua = defineLua(
  'owned',
  `
local nodeId, inc = ARGV[2], ARGV[3]
local out = {}
for i = 4, #ARGV do
  local v = redis.call('HMGET', k('c', ARGV[i]), 'node', 'inc', 'fence', 'state', 'socketId', 'seq')
  if v[1] == nodeId and v[2] == inc then table.insert(out, {ARGV[i], v[3], v[4], v[5], v[6] or '0'}) end
end
return out
`,
);
