import { describe, expect, it } from 'vitest';
import { statechartModel } from '../src/inspector/statechart.js';
import { clientMachine } from '../src/machines/client.machine.js';

describe('statechartModel(clientMachine)', () => {
  const chart = statechartModel(clientMachine);

  it('should read the four states from the machine, initial and final marked', () => {
    expect(chart.states.map((s) => [s.id, s.initial, s.final])).toEqual([
      ['handshaking', true, false],
      ['connected', false, false],
      ['disconnected', false, false],
      ['deleted', false, true],
    ]);
  });

  it('should list every state change with its event, guard and timer', () => {
    const edges = chart.transitions.map(
      (t) => `${t.from} -${t.event}${t.guard ? `[${t.guard}]` : ''}${t.timer ? `(${t.timer})` : ''}-> ${t.to}`,
    );
    expect(edges).toEqual(
      expect.arrayContaining([
        'handshaking -socket.handshake-> connected',
        'handshaking -client.prune[isDue]-> deleted',
        'handshaking -client.delete-> deleted',
        'handshaking -client.timeout[isCurrentGeneration](handshakeTimeout)-> deleted',
        'connected -socket.disconnect[isCurrentSocket]-> disconnected',
        'connected -client.delete-> deleted',
        'disconnected -socket.handshake-> connected',
        'disconnected -client.timeout[isCurrentGeneration](reconnectTimeout)-> deleted',
      ]),
    );
    // the socket swap changes no state but is a real transition, not an ignore
    expect(edges).toContain('connected -socket.handshake-> connected');
  });

  it('should list what each state ignores, with the why it reports', () => {
    const ignores = Object.fromEntries(chart.states.map((s) => [s.id, s.ignores.map((i) => `${i.event}:${i.why}`)]));
    expect(ignores.handshaking).toEqual([
      'socket.disconnect:not-connected',
      'client.prune:not-due',
      'client.timeout:not-due',
    ]);
    expect(ignores.connected).toEqual([
      'socket.handshake:replay',
      'socket.disconnect:stale-socket',
      'client.prune:not-due',
      'client.timeout:not-due',
    ]);
    expect(ignores.disconnected).toEqual([
      'socket.disconnect:not-connected',
      'client.prune:not-due',
      'client.timeout:not-due',
    ]);
    expect(ignores.deleted).toEqual([]);
  });
});
