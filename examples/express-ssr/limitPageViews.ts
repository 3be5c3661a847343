import type { RequestHandler } from 'express';

/**
 * Page views per address and window, as Express middleware. Every page view registers a client
 * (~3 KB of heap until its socket connects or `handshakeTimeout` passes), so a script that fetches
 * the page in a loop would otherwise hold as many clients as it can fetch pages.
 * Behind a reverse proxy, set Express's `trust proxy` so `req.ip` is the browser's address.
 */
export function limitPageViews(limit: number, windowMs: number): RequestHandler {
  const windows = new Map<string, { start: number; count: number }>();
  return function pageViewLimit(req, res, next) {
    const now = Date.now();
    const address = req.ip ?? '';
    let entry = windows.get(address);
    if (!entry || now - entry.start >= windowMs) {
      windows.delete(address);
      entry = { start: now, count: 0 };
      windows.set(address, entry);
      // bounded: the oldest windows go first
      if (windows.size > 10_000) windows.delete(windows.keys().next().value!);
    }
    entry.count += 1;
    if (entry.count <= limit) return next();
    res.set('retry-after', String(Math.ceil((entry.start + windowMs - now) / 1000)));
    res.status(429).send('Too many page loads from your address; wait a minute.');
  };
}
