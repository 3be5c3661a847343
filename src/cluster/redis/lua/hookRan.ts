import { defineScript } from './defineScript.js';

/** Owners ran the onConnect hooks connects made due: their marks go. */
export const hookRanScript = defineScript({
  name: 'hookRan',
  does: `Owners ran onConnect for the connects of these sockets: each client's hookDue mark is cleared,
if it is still that connect's (a newer connect has its own). A batch: the node sends the hooks of
one tick together, one call per Redis (on a Redis Cluster: per master, its partitions' clients
together, allow-cross-slot-keys). It does not raise the write counter: a rollback that undoes it leaves a
mark that, at worst, makes a later owner run that onConnect again, as one left by a lost reply does.`,
  keys: [
    "the record of the first client ({P}:c:<clientId>): where the call goes; the others' records, in ARGV, are discovered (on a Redis Cluster, keys of other slots of this master: allow-cross-slot-keys lets a script reach them, not declare them)",
  ],
  argv: ["... pairs of a client's record ({P}:c:<clientId>) and the socket whose connect made onConnect due"],
  reply: 'how many marks were cleared',
  uses: ['discover'],
  uncounted: true,
  crossSlot: true,
  body: `
for i = 1, #ARGV - 1, 2 do discover(ARGV[i]) end
local cleared = 0
for i = 1, #ARGV - 1, 2 do
  local rec = ARGV[i]
  local due = redis.call('HGET', rec, 'hookDue')
  if due and string.match(due, '^(%S+)') == ARGV[i + 1] then
    redis.call('HDEL', rec, 'hookDue')
    cleared = cleared + 1
  end
end
return cleared
`,
});
