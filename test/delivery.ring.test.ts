import { describe, expect, it } from 'vitest';
import { createDelivery } from '../src/core/delivery.js';
import type { SocketBridge } from '../src/core/socketBridge.js';
import type { LifecycleEvent } from '../src/core/types.js';
import type { ClientRecord, ClientStore } from '../src/store/clientStore.js';

// The outbox is a ring of parallel arrays (issue 21): what goes in must come out in order, across
// acknowledgements that free its front, growth while it wraps around, and flushes.
function harness() {
  const record = { clientId: 'c1', state: 'connected', socketId: 's1' } as ClientRecord;
  const sent: Array<{ socketId: string; seq: number; event: string; args: unknown[] }> = [];
  const events: LifecycleEvent[] = [];
  const bridge: SocketBridge = {
    resolve: () => undefined,
    disconnect: () => {},
    resume: () => {},
    askAck: () => {},
    send: (socketId, seq, event, count, first, second) => {
      // one or two arguments come as they are, more as an array in `first`
      const args = count > 2 ? (first as unknown[]) : [first, second].slice(0, count);
      sent.push({ socketId, seq, event, args });
    },
  };
  const store = {
    get: (id: string) => (id === record.clientId ? record : undefined),
    status: (id: string) => (id === record.clientId ? 'live' : 'unknown'),
  } as unknown as ClientStore;
  const delivery = createDelivery({
    store,
    now: () => 1000 + sent.length,
    bridge,
    limits: { maxMessages: 1000, maxBytes: 1_000_000 },
    publish: (event) => void events.push(event),
    deleteClient: () => {},
  });
  return { record, sent, events, delivery };
}

describe('the outbox ring', () => {
  it('should keep every unacknowledged message in order across acknowledgements, wrap-around and growth', () => {
    const { record, sent, delivery } = harness();
    const channel = delivery.to('c1');
    for (let i = 1; i <= 3; i += 1) channel.emit('note', i, { i });
    delivery.acknowledge('c1', 2); // frees the front: the next ones wrap around the 4-slot ring (1, 2, 4 slots so far)
    for (let i = 4; i <= 12; i += 1) channel.emit('note', i, { i }); // and grow it while wrapped
    // message n was sent at 999 + n (the harness's clock counts sends): the oldest left is 3
    expect(delivery.outboxOf('c1')).toEqual({ depth: 10, oldestAt: 1002 });
    expect(delivery.to('c1')).toBe(delivery.to('c1')); // one channel per client with an outbox
    sent.length = 0;
    record.socketId = 's2';
    delivery.flush(record);
    expect(sent.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(sent.map((m) => m.args)).toEqual(sent.map((m) => [m.seq, { i: m.seq }]));
    expect(sent.every((m) => m.socketId === 's2' && m.event === 'note')).toBe(true);
    delivery.acknowledge('c1', 12);
    expect(delivery.outboxOf('c1')).toEqual({ depth: 0, oldestAt: null });
    channel.emit('note', 'after');
    expect(sent.at(-1)).toMatchObject({ seq: 13, args: ['after'] });
  });

  it('should report what a dropped outbox never delivered, and a stale channel as undelivered', () => {
    const { record, events, delivery } = harness();
    const channel = delivery.to('c1');
    for (let i = 0; i < 5; i += 1) channel.emit('note', i);
    delivery.acknowledge('c1', 1);
    record.state = 'deleted';
    delivery.drop('c1', 'manual');
    expect(events).toEqual([
      { type: 'undelivered', clientId: 'c1', at: expect.any(Number), count: 4, reason: 'manual' },
    ]);
    expect(channel.emit('note', 'late')).toBe(false);
    expect(delivery.stats()).toMatchObject({ sent: 5, acked: 1, undelivered: 5 });
  });
});
