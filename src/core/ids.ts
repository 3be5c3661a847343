import { createHash, randomFillSync } from 'node:crypto';

/**
 * Ids and secrets, once for the whole library: how they are made (128 random bits, base64url),
 * which strings pass for one, how a token is hashed (cluster mode) and compared.
 */

/** 128 bits, base64url: 22 characters. Every id and token the library makes has this length. */
export const ID_LENGTH = 22;

/**
 * An id or token as the API, the inspector and the cluster's store accept one: base64url, 1 to 64
 * characters (the bound the project's contract sets for a handshake's `clientId`; the handshake
 * itself asks for exactly `ID_LENGTH`, see {@link isIssuedId}). The bound keeps a megabyte
 * string out of lookups.
 */
const ID = /^[A-Za-z0-9_-]{1,64}$/;

// One CSPRNG call per 256 ids instead of one per id: randomBytes(16) per id was the single most
// expensive part of register(). Each id still gets its own 16 fresh bytes, never reused.
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let poolOffset = pool.length;

/**
 * A new id: 128 random bits from the CSPRNG, base64url (`ID_LENGTH` characters). Client ids,
 * resume tokens, and in cluster mode deletion and message ids.
 */
export function randomId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + 16);
  // wipe what was handed out so a token never lingers in the pool
  pool.fill(0, poolOffset, poolOffset + 16);
  poolOffset += 16;
  return id;
}

/** Whether `value` passes for an id or token (base64url, 1 to 64 characters). */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

/**
 * Whether `value` has the exact form of an id or token the library issues ({@link randomId}): what
 * a handshake must present, so anything else is refused before any lookup.
 */
export function isIssuedId(value: unknown): value is string {
  return typeof value === 'string' && value.length === ID_LENGTH && ID.test(value);
}

/** SHA-256 hex of a resume token: all cluster mode's Redis ever holds of it (and all a script compares). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Compares a presented secret (a client's token, the inspector's token) with the expected one in
 * constant time for equal lengths; a length mismatch returns early, which reveals only the
 * expected length (public: every token has the same length). The one compare of secrets in the
 * library.
 *
 * Every code unit is visited and folded into one difference, with no early exit and no branch on
 * the data: the same guarantee as `timingSafeEqual` without the two `Buffer.from` per compare it
 * needed (one per handshake; issue 21).
 */
export function secretsEqual(expected: string, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string' || presented.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i += 1) difference |= expected.charCodeAt(i) ^ presented.charCodeAt(i);
  return difference === 0;
}
