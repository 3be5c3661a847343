import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createSupervisor } from '../src/index.js';
import { settle } from './helpers/supervisor.js';

/**
 * Every string reachable from `root` by reflection: own properties (enumerable or not, symbols
 * included), prototypes' own data, Map and Set entries, array items. Closures are out of reach of
 * any inspector, so functions are not opened. Bounded, so a huge graph cannot hang the test.
 */
function reachableStrings(root: unknown, limit = 500_000): Set<string> {
  const strings = new Set<string>();
  const seen = new Set<object>();
  const queue: unknown[] = [root];
  while (queue.length > 0 && seen.size < limit) {
    const value = queue.pop();
    if (typeof value === 'string') {
      strings.add(value);
      continue;
    }
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) continue;
    seen.add(value);
    if (typeof value === 'function') continue;
    if (value instanceof Map) for (const [key, item] of value) queue.push(key, item);
    if (value instanceof Set) for (const item of value) queue.push(item);
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === 'string') strings.add(key);
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor && 'value' in descriptor) queue.push(descriptor.value);
    }
    const proto = Object.getPrototypeOf(value);
    if (proto && proto !== Object.prototype && proto !== Array.prototype) queue.push(proto);
  }
  expect(seen.size, 'the walk stayed within its bound').toBeLessThan(limit);
  return strings;
}

describe('secrets and inspection', () => {
  it('should find a token planted in a nested Map (the walker itself works)', () => {
    const planted = { context: { runtime: { records: new Map([['id', { token: 'secret-token' }]]) } } };
    expect(reachableStrings(planted).has('secret-token')).toBe(true);
  });

  it('should keep every client token out of reach of every inspection event', async () => {
    const inspections: InspectionEvent[] = [];
    const supervisor = createSupervisor({ inspect: (event) => inspections.push(event), pruneInterval: 0 });
    const issued = Array.from({ length: 5 }, () => supervisor.register({ tabId: 'tab', data: { room: 'r' } }));
    for (const [i, { clientId }] of issued.entries())
      supervisor.send({ type: 'socket.handshake', clientId, socketId: `s${i}` });
    supervisor.send({
      type: 'socket.disconnect',
      clientId: issued[0]!.clientId,
      socketId: 's0',
      reason: 'ping timeout',
    });
    supervisor.actor.send({ type: 'client.delete', clientId: issued[1]!.clientId, reason: 'kicked' });
    supervisor.actor.send({ type: 'client.prune' });
    await settle();
    expect(inspections.length).toBeGreaterThan(20);
    const strings = reachableStrings(inspections);
    // the walk does reach the clients (their ids), just never their tokens
    for (const { clientId } of issued) expect(strings.has(clientId)).toBe(true);
    for (const { token } of issued) expect(strings.has(token), 'a token is reachable from inspection').toBe(false);
    await supervisor.close();
  });
});
