import { randomFillSync, timingSafeEqual } from 'node:crypto';

/** 128 bits, base64url: 22 characters. */
export const ID_LENGTH = 22;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

// One CSPRNG call per 256 ids instead of one per id: randomBytes(16) per id was the single most
// expensive part of register(). Each id still gets its own 16 fresh bytes, never reused.
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let poolOffset = pool.length;

function random128(): string {
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

/** A new public client id: 128 random bits from the CSPRNG, base64url. */
export function newClientId(): string {
  return random128();
}

/** A new private resume token: 128 random bits from the CSPRNG, base64url. */
export function newToken(): string {
  return random128();
}

export function isBase64Url(value: string): boolean {
  return BASE64URL.test(value);
}

/**
 * Compares a presented secret (a client's token, the inspector's token) with the expected one in
 * constant time for equal lengths; a length mismatch returns early, which reveals only the
 * expected length (public: every token has the same length). The one compare of secrets in the
 * library.
 */
export function secretsEqual(expected: string, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(presented, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
