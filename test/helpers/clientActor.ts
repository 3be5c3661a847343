import { createActor } from 'xstate';
import type { LifecycleEvent } from '../../src/core/types.js';
import { type ClientEvent, clientMachine } from '../../src/machines/client.machine.js';

export const HANDSHAKE_TIMEOUT = 1000;
export const RECONNECT_TIMEOUT = 300;

/** A client actor on its own, with every emitted event recorded. */
export function startClient(createdAt = 0) {
  const actor = createActor(clientMachine, {
    input: {
      clientId: 'c1',
      tabId: null,
      createdAt,
      handshakeTimeout: HANDSHAKE_TIMEOUT,
      reconnectTimeout: RECONNECT_TIMEOUT,
    },
  });
  const emitted: LifecycleEvent[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  return {
    actor,
    emitted,
    send: (event: ClientEvent) => actor.send(event),
    state: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    types: () => emitted.map((event) => (event.type === 'ignored' ? `ignored:${event.why}` : event.type)),
  };
}

/** A client driven to `connected` on socket `s0`. */
export function connectedClient() {
  const client = startClient();
  client.send({ type: 'socket.handshake', socketId: 's0', at: 10 });
  client.emitted.length = 0;
  return client;
}

/** A client driven to `disconnected` (socket `s0` dropped at t=20). */
export function disconnectedClient() {
  const client = connectedClient();
  client.send({ type: 'socket.disconnect', socketId: 's0', reason: 'transport close', at: 20 });
  client.emitted.length = 0;
  return client;
}
