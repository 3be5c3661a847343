import { ID_LENGTH, isBase64Url } from '../core/ids.js';
import { tabIdProblem } from '../core/validate.js';

export { MAX_TAB_ID, tabIdProblem } from '../core/validate.js';

/** A handshake's `auth` payload, validated. */
export type ParsedAuth =
  | { ok: true; clientId: string; token: string; tabId: string | null }
  | { ok: true; clientId: null; token: null; tabId: string | null }
  | { ok: false; message: string };

const ALLOWED_KEYS = new Set(['clientId', 'token', 'tabId']);

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
    if (!ALLOWED_KEYS.has(key)) {
      return {
        ok: false,
        message: `handshake auth has an unexpected key ${JSON.stringify(key.slice(0, 32))}; only clientId, token and tabId are allowed`,
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

function isIssuedId(value: unknown): value is string {
  return typeof value === 'string' && value.length === ID_LENGTH && isBase64Url(value);
}
