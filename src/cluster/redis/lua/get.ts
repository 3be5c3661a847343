import { defineScript } from './defineScript.js';

/** One client's record and outbox counters. A read. */
export const getScript = defineScript({
  name: 'get',
  does: `One client's record, its data from its data key when kept apart, with its outbox counters
(what get and view answer, in one step: a record deleted meanwhile is never read without its data).`,
  keys: ['the client record ({P}:c:<clientId>)', 'its data key ({P}:x:<clientId>)'],
  argv: [],
  reply: `{...record (RECORD_FIELDS order), seq, acked, oldestAt} | {} (no such client)`,
  uses: ['read'],
  readOnly: true,
  body: `
local r = read(KEYS[1])
if not r then return {} end
local v = flat(r)
for _, x in ipairs(redis.call('HMGET', KEYS[1], 'seq', 'acked', 'oldestAt')) do table.insert(v, x or '') end
return v
`,
});
