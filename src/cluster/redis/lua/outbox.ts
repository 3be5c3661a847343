import { defineScript } from './defineScript.js';

/** What waits in a client's outbox. A read. */
export const outboxScript = defineScript({
  name: 'outbox',
  does: `What a new owner sends on the client's socket (after a handshake, or to fill a gap left by a
lost notice): every unacknowledged message numbered above after, in order.`,
  keys: ['the client record ({P}:c:<clientId>)', 'its outbox ({P}:o:<clientId>)'],
  argv: ['clientId', 'after: the last sequence number already sent'],
  reply: `{'ok', acked, seq, {member...}} | {'gone'}`,
  uses: ['decimal'],
  readOnly: true,
  body: `
local id, after = ARGV[1], tonumber(ARGV[2]) or 0
local v = redis.call('HMGET', KEYS[1], 'state', 'seq', 'acked')
if not v[1] then return {'gone'} end
local seq, acked = tonumber(v[2]) or 0, tonumber(v[3]) or 0
if acked > after then after = acked end
return {'ok', s(acked), s(seq), redis.call('ZRANGEBYSCORE', k('o', id), '(' .. s(after), '+inf')}
`,
});
