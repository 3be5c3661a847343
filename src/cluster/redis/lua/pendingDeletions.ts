import { defineScript } from './defineScript.js';

/** The deletions an incarnation has not completed. */
export const pendingDeletionsScript = defineScript({
  name: 'pendingDeletions',
  does: `The deletions assigned to this incarnation and not completed: after a delete or sweep whose
reply was lost, the node runs those it is not already running.`,
  keys: ['the cluster meta hash ({P}:meta)'],
  argv: ['nodeId', 'inc'],
  reply: `{entry...}: each in DELETION_FIELDS order`,
  uses: ['deletionFields'],
  readOnly: true,
  body: `
local nodeId, inc = ARGV[2], ARGV[3]
local out = {}
for _, did in ipairs(redis.call('SMEMBERS', k('dels', nodeId, inc))) do
  local v = redis.call('HMGET', k('d', did), unpack(DEL))
  if v[1] then table.insert(out, v) end
end
return out
`,
});
