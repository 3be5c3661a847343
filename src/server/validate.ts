import { ID_LENGTH, isIssuedId } from '../core/ids.js';
import { tabIdProblem } from '../core/validate.js';
import { AUTH_KEYS } from '../protocol.js';

export { MAX_TAB_ID, tabIdProblem } from '../core/validate.js';

/** A handshake's `auth` payload, validated. */
export type ParsedAuth =
  | { ok: true; clientId: string; token: string; tabId: string | null }
  | { ok: true; clientId: null; token: null; tabId: string | null }
  | { ok: false; message: string };

const ALLOWED_KEYS: ReadonlySet<string> = new Set(AUTH_KEYS);
/**
 * Keys socket.io-client adds on its own for connection state recovery (the previous session's
 * private id and the last packet offset): accepted when they are bounded strings, and left to
 * socket.io.
 */
const RECOVERY_KEYS: ReadonlySet<string> = new Set(['pid', 'offset']);
const MAX_RECOVERY_VALUE = 256;

/**
 * Validates socket.io's `handshake.auth` before anything is looked up: a plain object whose only
 * keys are `clientId`, `token` and `tabId`, each a bounded string. It reads own properties only,
 * so `__proto__` or `constructor` keys can never reach any object of ours.
 */
export function parseAuth(auth: unknown): ParsedAuth {
  if (auth === undefined || auth === null) return { ok: true, clientId: null, token: null, tabId: null };
  if (typeof auth !== 'object' || Array.isArray(auth)) {
    return {
      ok: false,
      message: `handshake auth must be an object, got ${Array.isArray(auth) ? 'an array' : typeof auth}`,
    };
  }
  const proto = Object.getPrototypeOf(auth);
  if (proto !== Object.prototype && proto !== null) {
    return { ok: false, message: 'handshake auth must be a plain object' };
  }
  const keys = Object.keys(auth);
  for (const key of keys) {
    if (RECOVERY_KEYS.has(key)) {
      const value = (auth as Record<string, unknown>)[key];
      if (typeof value !== 'string' || value.length > MAX_RECOVERY_VALUE) {
        return {
          ok: false,
          message: `handshake auth.${key} (connection state recovery) must be a string of at most ${MAX_RECOVERY_VALUE} characters`,
        };
      }
      continue;
    }
    if (!ALLOWED_KEYS.has(key)) {
      return {
        ok: false,
        message: `handshake auth has an unexpected key ${JSON.stringify(key.slice(0, 32))}; only ${AUTH_KEYS.join(', ')} (and socket.io's pid and offset) are allowed`,
      };
    }
  }
  const { clientId, token, tabId } = auth as Record<string, unknown>;
  let parsedTab: string | null = null;
  if (tabId !== undefined) {
    const problem = tabIdProblem(tabId, 'handshake auth.tabId');
    if (problem) return { ok: false, message: problem };
    parsedTab = tabId as string;
  }
  if (clientId === undefined && token === undefined) return { ok: true, clientId: null, token: null, tabId: parsedTab };
  if (!isIssuedId(clientId)) {
    return { ok: false, message: `handshake auth.clientId must be a ${ID_LENGTH}-character base64url string` };
  }
  if (!isIssuedId(token)) {
    return { ok: false, message: `handshake auth.token must be a ${ID_LENGTH}-character base64url string` };
  }
  return { ok: true, clientId, token, tabId: parsedTab };
}
