import type { ClientStore } from '../store/clientStore.js';
import { secretsEqual } from './ids.js';
import type { RejectCode } from './types.js';

/** The result of checking a handshake's credentials. */
export type Authentication = { ok: true } | { ok: false; code: RejectCode; message: string };

/**
 * Checks a handshake's credentials against the store: the client must be live and the token the
 * one it was issued (compared in constant time). Never says anything about the token itself.
 */
export function authenticate(
  store: ClientStore<unknown>,
  now: number,
  clientId: string,
  token: string,
): Authentication {
  const status = store.status(clientId, now);
  if (status === 'deleted') {
    return {
      ok: false,
      code: 'CLIENT_DELETED',
      message: `client ${clientId} was deleted; reload the page to get a new one`,
    };
  }
  const record = status === 'live' ? store.get(clientId) : undefined;
  if (record === undefined) {
    return { ok: false, code: 'UNKNOWN_CLIENT', message: `no client ${clientId} on this server; register a new one` };
  }
  if (!secretsEqual(record.token, token)) {
    return {
      ok: false,
      code: 'BAD_TOKEN',
      message: `the token presented for client ${clientId} is not the one it was issued`,
    };
  }
  return { ok: true };
}
