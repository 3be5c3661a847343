import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, once, rejection, startHarness } from './helpers/io.js';

let h: Harness;
afterEach(async () => h?.close());

async function rejectedWith(auth: unknown) {
  const socket = h.connect(auth);
  const error = await rejection(socket);
  return { code: error.data?.code, message: error.message };
}

describe('adapter: rejected handshakes', () => {
  it.each([
    ['numbers where strings belong', { clientId: 1, token: 2 }],
    ['an object as clientId', { clientId: { $gt: '' }, token: 'x'.repeat(22) }],
    ['a 100 kB clientId', { clientId: 'a'.repeat(100_000), token: 'b'.repeat(22) }],
    ['a token of the wrong length', { clientId: 'a'.repeat(22), token: 'b'.repeat(21) }],
    ['a non-base64url clientId', { clientId: 'a'.repeat(21) + '!', token: 'b'.repeat(22) }],
    ['an unexpected key', { clientId: 'a'.repeat(22), token: 'b'.repeat(22), admin: true }],
    ['a __proto__ key', JSON.parse('{"__proto__": {"polluted": true}, "clientId": "x"}')],
    ['a constructor key', { constructor: { prototype: { polluted: true } } }],
    ['a tabId with a newline', { tabId: 'a\nb' }],
    ['a 65-character tabId', { tabId: 't'.repeat(65) }],
    ['no clientId without autoRegister', {}],
  ])('should reject %s as INVALID_HANDSHAKE with a readable message', async (_name, auth) => {
    h = await startHarness();
    const rejected = h.next((e) => e.type === 'rejected');
    const { code, message } = await rejectedWith(auth);
    expect(code).toBe('INVALID_HANDSHAKE');
    expect(message).toMatch(/^handshake auth/);
    expect(await rejected).toMatchObject({ type: 'rejected', code: 'INVALID_HANDSHAKE', message });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(h.supervisor.list()).toEqual([]);
  });

  it('should reject an unknown client as UNKNOWN_CLIENT', async () => {
    h = await startHarness();
    const { code, message } = await rejectedWith({ clientId: 'A'.repeat(22), token: 'B'.repeat(22) });
    expect(code).toBe('UNKNOWN_CLIENT');
    expect(message).toContain('register a new one');
  });

  it('should reject a wrong token as BAD_TOKEN, without echoing any token', async () => {
    h = await startHarness();
    const { clientId, token } = h.supervisor.register();
    const { code, message } = await rejectedWith({ clientId, token: 'Z'.repeat(22) });
    expect(code).toBe('BAD_TOKEN');
    expect(message).not.toContain(token);
    expect(message).not.toContain('Z'.repeat(22));
    expect(h.supervisor.get(clientId)?.state).toBe('handshaking');
  });

  it('should reject a deleted client as CLIENT_DELETED', async () => {
    h = await startHarness();
    const { clientId, token } = h.supervisor.register();
    h.supervisor.delete(clientId);
    const { code, message } = await rejectedWith({ clientId, token });
    expect(code).toBe('CLIENT_DELETED');
    expect(message).toContain('reload');
  });

  it('should reject past maxClients as CLIENT_LIMIT (autoRegister)', async () => {
    h = await startHarness({ autoRegister: true, maxClients: 1 });
    const first = h.connect({});
    await once(first, 'connect');
    const { code } = await rejectedWith({});
    expect(code).toBe('CLIENT_LIMIT');
    // one refused handshake, one rejected event (register() reports it; the adapter does not again)
    expect(h.supervisor.stats().rejected).toEqual({ CLIENT_LIMIT: 1 });
  });

  it('should reject while shutting down as SHUTTING_DOWN', async () => {
    let release: () => void = () => {};
    h = await startHarness({ hooks: { onDelete: () => new Promise<void>((resolve) => (release = resolve)) } });
    const { clientId, token } = h.supervisor.register();
    const closing = h.supervisor.close();
    const { code, message } = await rejectedWith({ clientId, token });
    expect(code).toBe('SHUTTING_DOWN');
    expect(message).toContain('shutting down');
    release();
    await closing;
  });

  it('should rate limit an address after too many bad tokens, and still admit a valid token from it', async () => {
    h = await startHarness({ rateLimit: { failedHandshakes: { limit: 3, window: 60_000 } } });
    const { clientId, token } = h.supervisor.register();
    const codes: unknown[] = [];
    for (let i = 0; i < 4; i += 1) codes.push((await rejectedWith({ clientId, token: 'B'.repeat(22) })).code);
    expect(codes).toEqual(['BAD_TOKEN', 'BAD_TOKEN', 'BAD_TOKEN', 'RATE_LIMITED']);
    // malformed handshakes are refused too while the address is over its limit
    expect((await rejectedWith({ clientId: 1 })).code).toBe('RATE_LIMITED');
    // a valid token is never refused: the limit is about noise, not about real clients
    await once(h.connect({ clientId, token }), 'connect');
    expect(h.supervisor.get(clientId)?.state).toBe('connected');
    expect(h.supervisor.stats().rejected).toEqual({ BAD_TOKEN: 3, RATE_LIMITED: 2 });
  });

  it('should not count CLIENT_DELETED, UNKNOWN_CLIENT or CLIENT_LIMIT against an address', async () => {
    h = await startHarness({ maxClients: 1, rateLimit: { failedHandshakes: { limit: 2, window: 60_000 } } });
    const gone = h.supervisor.register();
    h.supervisor.delete(gone.clientId);
    const codes: unknown[] = [];
    for (let i = 0; i < 5; i += 1) {
      codes.push((await rejectedWith({ clientId: gone.clientId, token: gone.token })).code);
      codes.push((await rejectedWith({ clientId: 'A'.repeat(22), token: 'B'.repeat(22) })).code);
    }
    expect(new Set(codes)).toEqual(new Set(['CLIENT_DELETED', 'UNKNOWN_CLIENT']));
    const { clientId, token } = h.supervisor.register();
    await once(h.connect({ clientId, token }), 'connect');
    expect(h.supervisor.stats().rejected.RATE_LIMITED).toBeUndefined();
  });

  it('should rate limit autoRegister per address', async () => {
    h = await startHarness({ autoRegister: true, rateLimit: { autoRegister: { limit: 2, window: 60_000 } } });
    for (let i = 0; i < 2; i += 1) await once(h.connect({}), 'connect');
    expect((await rejectedWith({})).code).toBe('RATE_LIMITED');
    expect(h.supervisor.list()).toHaveLength(2);
  });

  it('should count against rateLimit.address when given (behind a proxy), each address on its own', async () => {
    h = await startHarness({
      autoRegister: true,
      rateLimit: {
        autoRegister: { limit: 1, window: 60_000 },
        address: (handshake) => String(handshake.headers['x-real-ip'] ?? handshake.address),
      },
    });
    const from = (ip: string) => ({ extraHeaders: { 'x-real-ip': ip } });
    await once(h.connect({}, from('10.0.0.1')), 'connect');
    const second = h.connect({}, from('10.0.0.1'));
    expect((await rejection(second)).data?.code).toBe('RATE_LIMITED');
    // another user behind the same proxy is not punished for the first one
    await once(h.connect({}, from('10.0.0.2')), 'connect');
    expect(h.supervisor.list()).toHaveLength(2);
  });

  it('should fall back to the socket address when rateLimit.address throws, and say so through the logger', async () => {
    const warnings: string[] = [];
    h = await startHarness({
      autoRegister: true,
      logger: {
        debug: () => {},
        info: () => {},
        warn: (_obj, msg) => void warnings.push(String(msg)),
        error: () => {},
      },
      rateLimit: {
        autoRegister: { limit: 1, window: 60_000 },
        address: () => {
          throw new Error('no header');
        },
      },
    });
    await once(h.connect({}), 'connect');
    expect((await rejectedWith({})).code).toBe('RATE_LIMITED');
    expect(warnings[0]).toMatch(/rateLimit.address threw/);
  });
});
