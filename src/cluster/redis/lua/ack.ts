import { defineScript } from './defineScript.js';

/** The page processed every message up to a sequence number: they leave the outbox. */
export const ackScript = defineScript({
  name: 'ack',
  does: `The page processed every message up to upTo: they leave the outbox. 'ignored': the client
was never sent that number (an acknowledgement carries no other authority); 'stale': already
acknowledged (acks only move forward, so a repeated or late one changes nothing); 'gone': no such
client (deleted: its outbox went with it).`,
  keys: ['the client record ({P}:c:<clientId>)', 'its outbox ({P}:o:<clientId>)', 'the cluster meta hash ({P}:meta)'],
  argv: ['clientId', 'upTo: the highest sequence number the page processed'],
  reply: `{'acked', trimmed, acked, oldestAt, obytes} | {'stale', acked} | {'ignored', seq} | {'gone'}`,
  uses: ['decimal'],
  body: `
local id, upTo = ARGV[1], tonumber(ARGV[2])
local rec = KEYS[1]
local v = redis.call('HMGET', rec, 'state', 'seq', 'acked', 'obytes')
if not v[1] then return {'gone'} end
local seq, acked, bytes = tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
if not upTo or upTo > seq then return {'ignored', s(seq)} end
if upTo <= acked then return {'stale', s(acked)} end
local outbox = k('o', id)
local done = redis.call('ZRANGEBYSCORE', outbox, '-inf', s(upTo))
for _, m in ipairs(done) do bytes = bytes - #m end
redis.call('ZREMRANGEBYSCORE', outbox, '-inf', s(upTo))
local head = redis.call('ZRANGE', outbox, 0, 0)[1]
local oldest = ''
if head then oldest = string.match(head, '^%d+|(%d+)|') end
bytes = math.max(bytes, 0)
redis.call('HSET', rec, 'acked', s(upTo), 'obytes', s(bytes), 'oldestAt', oldest)
return {'acked', s(#done), s(upTo), oldest, s(bytes)}
`,
});
