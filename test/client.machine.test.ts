import { describe, expect, it } from 'vitest';
import {
  connectedClient,
  disconnectedClient,
  HANDSHAKE_TIMEOUT,
  RECONNECT_TIMEOUT,
  startClient,
} from './helpers/clientActor.js';

// One test per cell of DESIGN.md's state × event table, against the client machine alone.

describe('client machine: handshaking', () => {
  it('should emit registered with its handshake deadline on start', () => {
    const client = startClient(5);
    expect(client.state()).toBe('handshaking');
    expect(client.emitted).toEqual([
      { type: 'registered', clientId: 'c1', at: 5, tabId: null, expiresAt: 5 + HANDSHAKE_TIMEOUT },
    ]);
  });

  it('should connect on socket.handshake and bind the socket', () => {
    const client = startClient();
    client.send({ type: 'socket.handshake', socketId: 's1', tabId: 'tab', at: 7 });
    expect(client.state()).toBe('connected');
    expect(client.context()).toMatchObject({ socketId: 's1', tabId: 'tab', connectedAt: 7, expiresAt: null });
    expect(client.types()).toEqual(['registered', 'connected']);
  });

  it('should ignore socket.disconnect as not-connected', () => {
    const client = startClient();
    client.send({ type: 'socket.disconnect', socketId: 's1', reason: 'transport close', at: 3 });
    expect(client.state()).toBe('handshaking');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'ignored', why: 'not-connected', socketId: 's1', at: 3 });
  });

  it('should ignore client.prune before the handshake deadline as not-due', () => {
    const client = startClient();
    client.send({ type: 'client.prune', now: HANDSHAKE_TIMEOUT - 1 });
    expect(client.state()).toBe('handshaking');
    expect(client.types().at(-1)).toBe('ignored:not-due');
  });

  it('should be deleted as pruned by client.prune at the handshake deadline', () => {
    const client = startClient();
    client.send({ type: 'client.prune', now: HANDSHAKE_TIMEOUT });
    expect(client.state()).toBe('deleted');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'deleted', reason: 'pruned', from: 'handshaking' });
  });

  it('should be deleted by client.delete', () => {
    const client = startClient();
    client.send({ type: 'client.delete', reason: 'manual', at: 1 });
    expect(client.state()).toBe('deleted');
    expect(client.emitted.at(-1)).toMatchObject({
      type: 'deleted',
      reason: 'manual',
      from: 'handshaking',
      socketId: null,
    });
  });

  it('should be deleted as handshake-timeout by its current timeout', () => {
    const client = startClient();
    client.send({ type: 'client.timeout', generation: 0, at: HANDSHAKE_TIMEOUT });
    expect(client.state()).toBe('deleted');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'deleted', reason: 'handshake-timeout' });
  });

  it('should ignore a timeout armed for another generation', () => {
    const client = startClient();
    client.send({ type: 'client.timeout', generation: 7, at: HANDSHAKE_TIMEOUT });
    expect(client.state()).toBe('handshaking');
    expect(client.types().at(-1)).toBe('ignored:not-due');
  });
});

describe('client machine: connected', () => {
  it('should ignore a replayed handshake of its own socket', () => {
    const client = connectedClient();
    client.send({ type: 'socket.handshake', socketId: 's0', at: 11 });
    expect(client.state()).toBe('connected');
    expect(client.types()).toEqual(['ignored:replay']);
  });

  it('should swap sockets on a handshake from another socket, with no hooks', () => {
    const client = connectedClient();
    client.send({ type: 'socket.handshake', socketId: 's1', at: 12 });
    expect(client.state()).toBe('connected');
    expect(client.context().socketId).toBe('s1');
    expect(client.emitted).toEqual([
      { type: 'socket-replaced', clientId: 'c1', at: 12, socketId: 's1', previousSocketId: 's0' },
    ]);
  });

  it('should disconnect when its current socket disconnects, arming the reconnect deadline', () => {
    const client = connectedClient();
    client.send({ type: 'socket.disconnect', socketId: 's0', reason: 'transport close', at: 20 });
    expect(client.state()).toBe('disconnected');
    expect(client.context()).toMatchObject({ socketId: null, disconnectedAt: 20, generation: 1 });
    expect(client.emitted).toEqual([
      {
        type: 'disconnected',
        clientId: 'c1',
        at: 20,
        socketId: 's0',
        reason: 'transport close',
        expiresAt: 20 + RECONNECT_TIMEOUT,
      },
    ]);
  });

  it('should ignore a stale socket disconnect', () => {
    const client = connectedClient();
    client.send({ type: 'socket.disconnect', socketId: 'old', reason: 'transport close', at: 21 });
    expect(client.state()).toBe('connected');
    expect(client.types()).toEqual(['ignored:stale-socket']);
  });

  it('should ignore client.prune', () => {
    const client = connectedClient();
    client.send({ type: 'client.prune', now: 10 ** 9 });
    expect(client.state()).toBe('connected');
    expect(client.types()).toEqual(['ignored:not-due']);
  });

  it('should be deleted by client.delete, reporting the socket the server must close', () => {
    const client = connectedClient();
    client.send({ type: 'client.delete', reason: 'kicked', at: 30 });
    expect(client.state()).toBe('deleted');
    expect(client.emitted).toEqual([
      { type: 'deleted', clientId: 'c1', at: 30, reason: 'kicked', from: 'connected', socketId: 's0' },
    ]);
  });

  it('should ignore a timeout while connected', () => {
    const client = connectedClient();
    client.send({ type: 'client.timeout', generation: 0, at: HANDSHAKE_TIMEOUT });
    expect(client.state()).toBe('connected');
    expect(client.types()).toEqual(['ignored:not-due']);
  });
});

describe('client machine: disconnected', () => {
  it('should reconnect on a handshake', () => {
    const client = disconnectedClient();
    client.send({ type: 'socket.handshake', socketId: 's2', at: 25 });
    expect(client.state()).toBe('connected');
    expect(client.emitted).toEqual([
      { type: 'reconnected', clientId: 'c1', at: 25, socketId: 's2', tabId: null, downtime: 5 },
    ]);
  });

  it('should ignore a duplicate disconnect as not-connected', () => {
    const client = disconnectedClient();
    client.send({ type: 'socket.disconnect', socketId: 's0', reason: 'transport close', at: 21 });
    expect(client.state()).toBe('disconnected');
    expect(client.types()).toEqual(['ignored:not-connected']);
  });

  it('should ignore client.prune inside the grace period', () => {
    const client = disconnectedClient();
    client.send({ type: 'client.prune', now: 20 + RECONNECT_TIMEOUT - 1 });
    expect(client.state()).toBe('disconnected');
    expect(client.types()).toEqual(['ignored:not-due']);
  });

  it('should be deleted as pruned once disconnected for reconnectTimeout', () => {
    const client = disconnectedClient();
    client.send({ type: 'client.prune', now: 20 + RECONNECT_TIMEOUT });
    expect(client.state()).toBe('deleted');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'deleted', reason: 'pruned', from: 'disconnected' });
  });

  it('should be deleted by client.delete', () => {
    const client = disconnectedClient();
    client.send({ type: 'client.delete', reason: 'manual', at: 22 });
    expect(client.state()).toBe('deleted');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'deleted', from: 'disconnected', socketId: null });
  });

  it('should be deleted as reconnect-timeout by the current generation only', () => {
    const client = disconnectedClient();
    client.send({ type: 'client.timeout', generation: 0, at: 20 + RECONNECT_TIMEOUT });
    expect(client.types()).toEqual(['ignored:not-due']);
    client.send({ type: 'client.timeout', generation: 1, at: 20 + RECONNECT_TIMEOUT });
    expect(client.state()).toBe('deleted');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'deleted', reason: 'reconnect-timeout' });
  });
});

describe('client machine: deleted', () => {
  it('should be final, with the delete reason as output', () => {
    const client = startClient();
    client.send({ type: 'client.delete', reason: 'bye', at: 1 });
    const snapshot = client.actor.getSnapshot();
    expect(snapshot.status).toBe('done');
    expect(snapshot.output).toEqual({ clientId: 'c1', reason: 'bye' });
  });

  // every transition into `deleted` of the table: the output (what cluster mode commits) says
  // what the emitted `deleted` event says, and the context is left as the state left had it
  it.each([
    ['handshaking', 'client.prune', startClient, { type: 'client.prune', now: HANDSHAKE_TIMEOUT }, 'pruned'],
    [
      'handshaking',
      'client.timeout',
      startClient,
      { type: 'client.timeout', generation: 0, at: 1 },
      'handshake-timeout',
    ],
    ['handshaking', 'client.delete', startClient, { type: 'client.delete', reason: 'a', at: 1 }, 'a'],
    ['connected', 'client.delete', connectedClient, { type: 'client.delete', reason: 'b', at: 11 }, 'b'],
    [
      'disconnected',
      'client.prune',
      disconnectedClient,
      { type: 'client.prune', now: 20 + RECONNECT_TIMEOUT },
      'pruned',
    ],
    [
      'disconnected',
      'client.timeout',
      disconnectedClient,
      { type: 'client.timeout', generation: 1, at: 30 },
      'reconnect-timeout',
    ],
    ['disconnected', 'client.delete', disconnectedClient, { type: 'client.delete', reason: 'c', at: 21 }, 'c'],
  ] as const)('should output the reason it emits, from %s on %s', (from, _type, make, event, reason) => {
    const client = make();
    const before = client.context();
    client.send(event);
    const snapshot = client.actor.getSnapshot();
    expect(snapshot.status).toBe('done');
    expect(client.emitted.at(-1)).toMatchObject({ type: 'deleted', reason, from, socketId: before.socketId });
    expect(snapshot.output).toEqual({ clientId: 'c1', reason });
    expect(snapshot.context).toBe(before);
  });
});
