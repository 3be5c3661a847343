import { defineScript } from './defineScript.js';

/** Which of some clients an incarnation still owns. A read. */
export const ownedScript = defineScript({
  name: 'owned',
  does: `Which of these clients this incarnation still owns, at which fence, and the last sequence
number of its outbox (a node that missed a 'message' notice sends what it has not sent). A node that
learns it was fenced, or misses notices, asks this to find the clients it lost.`,
  keys: ['... the record of each client ({P}:c:<clientId>), in the order of ARGV from ARGV[3]'],
  argv: ['nodeId', 'inc', '... the client ids'],
  reply: '{{clientId, fence, state, socketId, seq}...}: only the clients it owns',
  uses: [],
  readOnly: true,
  body: `
local nodeId, inc = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local v = redis.call('HMGET', k('c', ARGV[i]), 'node', 'inc', 'fence', 'state', 'socketId', 'seq')
  if v[1] == nodeId and v[2] == inc then table.insert(out, {ARGV[i], v[3], v[4], v[5], v[6] or '0'}) end
end
return out
`,
});
