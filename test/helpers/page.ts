import type { Socket as ClientSocket } from 'socket.io-client';
import { memoryStorage, type SupervisedState, supervise } from '../../src/client/index.js';

/**
 * A page: `socket` (not yet connected) under the real browser helper, recording the `n` of every
 * `tick` it processes and every state it passes through; then connects it.
 */
export function tickPage(socket: ClientSocket, credentials: { clientId: string; token: string }, ackDelay: number) {
  const client = supervise(socket, { storage: memoryStorage(), credentials, ackDelay });
  const received: number[] = [];
  client.on('tick', (n: number) => received.push(n));
  const states: SupervisedState[] = [];
  client.subscribe((state) => states.push(state));
  socket.connect();
  return { socket, client, received, states };
}

/** The integers from `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
