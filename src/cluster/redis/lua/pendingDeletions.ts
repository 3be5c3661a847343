import { defineScript } from './defineScript.js';

/** The deletions an incarnation has not completed. */
export const pendingDeletionsScript = defineScript({
  name: 'pendingDeletions',
  does: `The deletions assigned to this incarnation and not completed: after a delete or sweep whose
reply was lost, the node runs those it is not already running.`,
  keys: ['the deletions of the incarnation ({P}:dels:<nodeId>:<inc>); discovered: their journal entries'],
  argv: ['nodeId', 'inc'],
  reply: `{entry...}: each in DELETION_FIELDS order`,
  uses: ['discover', 'deletionFields'],
  readOnly: true,
  body: `
local nodeId, inc = ARGV[1], ARGV[2]
local out = {}
for _, did in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', found(k('d', did)), unpack(DEL))
  if v[1] then table.insert(out, v) end
end
return out
`,
});
