/** The parts of a request target the inspector routes on. */
export interface RequestTarget {
  /** The path as sent, not percent-decoded (the inspector's routes are plain ASCII). */
  pathname: string;
  query: URLSearchParams;
}

/**
 * Splits a request target (`req.url`) into path and query without `new URL()`, which throws on
 * targets a client can send at will (`GET //[ HTTP/1.1` is a URL with an invalid host to it).
 * Only origin-form targets (`/path?query`) can be the inspector's; anything else (`*`, absolute
 * form, garbage) is `null` and goes to the application untouched, as it would without the
 * inspector.
 */
export function requestTarget(raw: string | undefined): RequestTarget | null {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//')) return null;
  const mark = raw.indexOf('?');
  const pathname = mark === -1 ? raw : raw.slice(0, mark);
  // URLSearchParams leaves malformed percent-escapes as they are instead of throwing
  const query = new URLSearchParams(mark === -1 ? '' : raw.slice(mark + 1));
  return { pathname, query };
}
