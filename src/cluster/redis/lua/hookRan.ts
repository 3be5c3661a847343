import { defineScript } from './defineScript.js';

/** Owners ran the onConnect hooks connects made due: their marks go. */
export const hookRanScript = defineScript({
  name: 'hookRan',
  does: `Owners ran onConnect for the connects of these sockets: each client's hookDue mark is cleared,
if it is still that connect's (a newer connect has its own). A batch: the node sends the hooks of
one tick together.`,
  keys: ['the cluster meta hash ({P}:meta)', '... the record of each client ({P}:c:<clientId>), in the order of ARGV'],
  argv: ['... pairs of clientId and socketId: the socket whose connect made onConnect due'],
  reply: 'how many marks were cleared',
  uses: [],
  body: `
local cleared = 0
for i = 1, #ARGV - 1, 2 do
  local rec = k('c', ARGV[i])
  local due = redis.call('HGET', rec, 'hookDue')
  if due and string.match(due, '^(%S+)') == ARGV[i + 1] then
    redis.call('HDEL', rec, 'hookDue')
    cleared = cleared + 1
  end
end
return cleared
`,
});
