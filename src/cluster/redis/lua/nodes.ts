import { defineScript } from './defineScript.js';

/** The live incarnations. A read. */
export const nodesScript = defineScript({
  name: 'nodes',
  does: 'The live node incarnations, with their heartbeat and how many clients each owns.',
  keys: ['the live nodes ({P}:nodes); discovered: their node hashes and owned sets'],
  argv: [],
  reply: '{{nodeId, inc, state, heartbeatAt, joinedAt, clients}...}',
  uses: ['discover'],
  readOnly: true,
  body: `
local out = {}
for _, n in ipairs(redis.call('ZRANGE', k('nodes'), 0, -1)) do
  local v = redis.call('HMGET', found(k('node', n)), 'inc', 'state', 'heartbeatAt', 'joinedAt')
  table.insert(out, {n, v[1] or '', v[2] or '', v[3] or '', v[4] or '', redis.call('SCARD', found(k('owned', n, v[1] or '')))})
end
return out
`,
});
