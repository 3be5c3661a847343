import type { IncomingMessage } from 'node:http';
import { secretsEqual } from '../core/ids.js';

/** Name of the cookie that keeps the inspector open after `?token=`. */
export const COOKIE = 'sio_supervisor_inspector';

/**
 * The value of cookie `name`, percent-decoded; `null` when absent or not decodable. A header
 * is whatever the client sent: `%E0%A4%A` made `decodeURIComponent` throw out of the request
 * listener and took the process down (issue 15).
 */
export function readCookie(header: string | undefined, name: string): string | null {
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return null;
    }
  }
  return null;
}

/** The library's one constant-time compare of secrets. */
export function sameSecret(expected: string, presented: unknown): boolean {
  return secretsEqual(expected, typeof presented === 'string' ? presented : null);
}

function bearerOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  return /^Bearer (.+)$/.exec(header)?.[1] ?? null;
}

export interface AccessRule {
  /** The token that opens the inspector, `null` when `authorize` decides. */
  token: string | null;
  authorize?: ((req: IncomingMessage) => boolean) | undefined;
}

/**
 * Whether a request (a page, an asset, or the socket.io handshake of a viewer) may see the
 * inspector: `authorize(req)` when given (a throw is a no), else the token presented in the
 * query or `auth`, an `Authorization: Bearer` header or the cookie.
 */
export function isAuthorized(rule: AccessRule, req: IncomingMessage, presented: unknown): boolean {
  if (rule.authorize) {
    try {
      return rule.authorize(req) === true;
    } catch {
      return false;
    }
  }
  const token = rule.token!;
  return (
    sameSecret(token, presented) ||
    sameSecret(token, bearerOf(req)) ||
    sameSecret(token, readCookie(req.headers.cookie, COOKIE))
  );
}

/**
 * The cookies set once `?token=` opened the page: one scoped to the page, one to socket.io's
 * path, where the page's live connection goes. With the page's path alone the cookie never
 * reached `/socket.io/`, and a page reopened without `?token=` showed "not authorized".
 */
export function accessCookies(token: string, paths: string[]): string[] {
  const value = encodeURIComponent(token);
  return [...new Set(paths)].map((path) => `${COOKIE}=${value}; Path=${path || '/'}; HttpOnly; SameSite=Strict`);
}
