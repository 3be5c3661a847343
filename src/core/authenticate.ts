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
  now: () => number,
  clientId: string,
  token: string,
): Authentication {
  // one lookup for a live client (the usual case); the status (and the clock) only for one that is not
  const record = store.get(clientId);
  if (record === undefined || record.state === 'deleted') {
    if (store.status(clientId, now()) === 'deleted') {
      return {
        ok: false,
        code: 'CLIENT_DELETED',
        message: `client ${clientId} was deleted; reload the page to get a new one`,
      };
    }
    return { ok: false, code: 'UNKNOWN_CLIENT', message: `no client ${clientId} on this server; register a new one` };
  }
  if (!secretsEqual(record.token, token)) {
    return {
      ok: false,
      code: 'BAD_TOKEN',
      message: `the token presented for client ${clientId} is not the one it was issued`,
    };
  }
  return OK;
}

/** The one success, shared: nothing allocated per admitted handshake. */
const OK: Authentication = { ok: true };
