import { describe, expect, it } from 'vitest';
import { parseAuth } from '../src/server/validate.js';

// socket.io itself drops a CONNECT whose payload is not an object, so these never reach the
// middleware over a real socket; parseAuth still refuses them with a sentence.
describe('parseAuth', () => {
  it.each([
    ['a number', 42, /must be an object, got number/],
    ['a string', 'id', /must be an object, got string/],
    ['an array', ['a'], /got an array/],
    ['a class instance', new Date(), /plain object/],
  ])('should refuse %s', (_name, auth, message) => {
    const parsed = parseAuth(auth);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toMatch(message);
  });

  it('should accept no auth at all as "no clientId"', () => {
    expect(parseAuth(undefined)).toEqual({ ok: true, clientId: null, token: null, tabId: null });
  });

  it('should accept issued-length base64url credentials and a printable tabId', () => {
    const clientId = 'a'.repeat(22);
    const token = 'B_-'.repeat(7) + 'c';
    expect(parseAuth({ clientId, token, tabId: 'tab 1' })).toEqual({ ok: true, clientId, token, tabId: 'tab 1' });
  });

  it('should refuse a clientId without a token', () => {
    expect(parseAuth({ clientId: 'a'.repeat(22) })).toMatchObject({ ok: false, message: /auth\.token/ });
  });

  it('should read only own keys of a null-prototype object', () => {
    const auth = Object.create(null) as Record<string, unknown>;
    auth.tabId = 'x';
    expect(parseAuth(auth)).toEqual({ ok: true, clientId: null, token: null, tabId: 'x' });
  });
});
