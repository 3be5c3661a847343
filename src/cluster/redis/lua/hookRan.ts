import { defineScript } from './defineScript.js';

/** An owner ran the onConnect a claim made due: its mark goes. */
export const hookRanScript = defineScript({
  name: 'hookRan',
  does: `The owner ran onConnect for the connect of socketId: the client's hookDue mark is cleared, if it
is still that connect's (a newer connect has its own).`,
  keys: ['the client record ({P}:c:<clientId>)'],
  argv: ['clientId', 'socketId: the socket whose connect made onConnect due'],
  reply: `1 (cleared) | 0 (no mark of that socket)`,
  uses: [],
  body: `
local sid = ARGV[3]
local rec = KEYS[1]
local due = redis.call('HGET', rec, 'hookDue')
if not due or string.match(due, '^(%S+)') ~= sid then return 0 end
redis.call('HDEL', rec, 'hookDue')
return 1
`,
});
