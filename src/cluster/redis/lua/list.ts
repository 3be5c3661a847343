import { defineScript } from './defineScript.js';

/** One page of clients, cluster-wide. A read. */
export const listScript = defineScript({
  name: 'list',
  does: `One page of clients, read from the state sets ({P}:state:<state>), or from a node's owned
set (its current incarnation) when node is given. About limit per page (SSCAN's COUNT is a hint);
nextCursor is '' at the end. As with SSCAN, a client present for the whole listing is returned at
least once.`,
  keys: [
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    "the node's hash ({P}:node:<node>), when node is given; discovered: its incarnation's owned set, the records listed and their data keys",
  ],
  argv: ["state ('' for every live state)", "node ('' for every node)", "cursor ('' for the first page)", 'limit'],
  reply: `{nextCursor, {{clientId, ...record (RECORD_FIELDS order), seq, acked, oldestAt}...}}`,
  uses: ['discover', 'read'],
  readOnly: true,
  body: `
local state, node, cursor, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local phase, cur = string.match(cursor, '^(%d+):(%d+)$')
phase = tonumber(phase) or 1
cur = cur or '0'
local sets = {}
if node ~= '' then
  local inc = redis.call('HGET', k('node', node), 'inc')
  if inc then sets = {found(k('owned', node, inc))} end
elseif state ~= '' then
  sets = {k('state', state)}
else
  sets = {k('state', 'handshaking'), k('state', 'connected'), k('state', 'disconnected')}
end
local views = {}
while phase <= #sets and #views < limit do
  local res = redis.call('SSCAN', sets[phase], cur, 'COUNT', limit - #views)
  for _, id in ipairs(res[2]) do
    found(k('x', id))
    local r = read(found(k('c', id)))
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
});
