import { defineScript } from './defineScript.js';

/** A deletion's onDelete is done. */
export const completeDeletionScript = defineScript({
  name: 'completeDeletion',
  does: `Marks a deletion's onDelete as done, removing its journal entry. Only the incarnation it is
assigned to may complete it; 'fenced' means it was redelivered elsewhere (this node was declared
dead meanwhile). 'gone': already completed (a replay).`,
  keys: [
    'the deletion journal entry ({P}:d:<deletionId>)',
    "the deletions of the caller's incarnation ({P}:dels:<nodeId>:<inc>)",
    'the cluster meta hash ({P}:meta)',
  ],
  argv: ['deletionId', 'nodeId', 'inc'],
  reply: `'completed' | 'gone' | 'fenced'`,
  uses: [],
  body: `
local did, nodeId, inc = ARGV[1], ARGV[2], ARGV[3]
local d = k('d', did)
local v = redis.call('HMGET', d, 'node', 'inc')
if not v[1] then return 'gone' end
if v[1] ~= nodeId or v[2] ~= inc then return 'fenced' end
redis.call('DEL', d)
redis.call('SREM', k('dels', nodeId, inc), did)
return 'completed'
`,
});
