import { defineLua } from './prelude.js';

/**
 * completeDeletion(deletionId, nodeId, inc) → 'completed' | 'gone' | 'fenced'
 *
 * Marks a deletion's onDelete as done, removing its journal entry. Only the incarnation it is
 * assigned to may complete it; `fenced` means it was redelivered elsewhere (this node was
 * declared dead meanwhile). `gone`: already completed (a replay).
 */
export const completeDeletionLua = defineLua(
  'completeDeletion',
  `
local did, nodeId, inc = ARGV[2], ARGV[3], ARGV[4]
local d = k('d', did)
local v = redis.call('HMGET', d, 'node', 'inc')
if not v[1] then return 'gone' end
if v[1] ~= nodeId or v[2] ~= inc then return 'fenced' end
redis.call('DEL', d)
redis.call('SREM', k('dels', nodeId, inc), did)
return 'completed'
`,
);

/**
 * pendingDeletions(nodeId, inc) → entries
 *
 * The deletions assigned to this incarnation and not completed: after a delete or sweep whose
 * reply was lost, the node runs those it is not already running.
 */
export const pendingDeletionsLua = defineLua(
  'pendingDeletions',
  `
local nodeId, inc = ARGV[2], ARGV[3]
local out = {}
for _, did in ipairs(redis.call('SMEMBERS', k('dels', nodeId, inc))) do
  local v = redis.call('HMGET', k('d', did), unpack(DEL))
  if v[1] then table.insert(out, v) end
end
return out
`,
);
