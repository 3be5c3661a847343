import type { Socket } from 'socket.io';
import { isSupervisorError } from '../core/errors.js';
import type { RemoteVerdict, SupervisorInternals } from '../core/internals.js';
import type { RejectCode } from '../core/types.js';
import type { Binding } from './bridge.js';
import { createRateLimiter, type RateLimiter } from './rateLimiter.js';
import { parseAuth } from './validate.js';

export type Verdict =
  | { ok: true; binding: Binding }
  | {
      ok: false;
      clientId: string | null;
      code: RejectCode;
      message: string;
      /** Already reported as a `rejected` event (by `register()`): not to be reported twice. */
      reported?: boolean;
    };

const SHUTTING_DOWN = 'the server is shutting down; reconnect in a moment';

type Refusal = Extract<Verdict, { ok: false }>;

function refuse(code: RejectCode, message: string, clientId: string | null = null): Refusal {
  return { ok: false, clientId, code, message };
}

/**
 * Decides handshakes for one supervisor: validation first, then the credentials, then the limits.
 *
 * The failed-handshake limit counts only what looks like guessing or garbage (`BAD_TOKEN`,
 * `INVALID_HANDSHAKE`) and never refuses a handshake whose token is valid. `CLIENT_DELETED` and
 * `UNKNOWN_CLIENT` are what every tab sees after a restart or an outage longer than the grace
 * period; counting them once locked a whole NAT out for a minute after a restart (issue 15).
 * Tokens are 128 random bits, so the limit is about the noise and work of a misbehaving address,
 * not about guessing.
 */
export function createAdmission<TData>(internals: SupervisorInternals<TData>) {
  const { rateLimit, logger, now } = internals.options;
  const limiter = (limit: { limit: number; window: number } | false | undefined): RateLimiter | null =>
    limit ? createRateLimiter({ ...limit, now }) : null;
  const autoRegisterLimiter = rateLimit ? limiter(rateLimit.autoRegister) : null;
  const failureLimiter = rateLimit ? limiter(rateLimit.failedHandshakes) : null;

  /** The address rate limits count this handshake against (`rateLimit.address`, else the socket's). */
  function addressOf(socket: Socket): string {
    const own = socket.handshake.address ?? '';
    const pick = rateLimit ? rateLimit.address : undefined;
    if (!pick) return own;
    try {
      const address = pick(socket.handshake);
      return typeof address === 'string' ? address : own;
    } catch (error) {
      logger.warn({ err: error }, 'socket.io-supervisor: rateLimit.address threw; using the socket address');
      return own;
    }
  }

  /** A guess-like failure: counted, and past the limit told `RATE_LIMITED` instead. */
  function failed(address: string, code: RejectCode, message: string, clientId: string | null): Verdict {
    if (failureLimiter && !failureLimiter.hit(address)) {
      return refuse('RATE_LIMITED', 'too many rejected handshakes from this address; wait and retry', clientId);
    }
    return refuse(code, message, clientId);
  }

  /** Cluster mode: the shared store's verdict, counted against the address as a local one would be. */
  function remote(verdict: RemoteVerdict, address: string, tabId: string | null): Verdict {
    if (verdict.ok) {
      const { clientId, issued, release } = verdict;
      return { ok: true, binding: { clientId, tabId, issued, address, release } };
    }
    if (verdict.code === 'BAD_TOKEN') return failed(address, verdict.code, verdict.message, verdict.clientId);
    return refuse(verdict.code, verdict.message, verdict.clientId);
  }

  function decide(socket: Socket, address: string): Verdict | Promise<Verdict> {
    if (internals.isClosing()) return refuse('SHUTTING_DOWN', SHUTTING_DOWN);
    const parsed = parseAuth(socket.handshake.auth);
    if (!parsed.ok) return failed(address, 'INVALID_HANDSHAKE', parsed.message, null);
    const { admitRemote } = internals;
    if (admitRemote && parsed.clientId !== null) {
      const request = { clientId: parsed.clientId, token: parsed.token, tabId: parsed.tabId, socketId: socket.id };
      return admitRemote(request).then((verdict) => remote(verdict, address, parsed.tabId));
    }
    if (parsed.clientId !== null) {
      const verdict = internals.authenticate(parsed.clientId, parsed.token);
      if (verdict.ok)
        return { ok: true, binding: { clientId: parsed.clientId, tabId: parsed.tabId, issued: null, address } };
      if (verdict.code === 'BAD_TOKEN') return failed(address, verdict.code, verdict.message, parsed.clientId);
      return refuse(verdict.code, verdict.message, parsed.clientId);
    }
    if (!internals.options.autoRegister) {
      return failed(
        address,
        'INVALID_HANDSHAKE',
        'handshake auth has no clientId: pass the credentials from supervisor.register(), or enable autoRegister',
        null,
      );
    }
    if (autoRegisterLimiter && !autoRegisterLimiter.hit(address)) {
      return refuse('RATE_LIMITED', 'too many new clients from this address; wait and retry');
    }
    if (admitRemote) {
      const request = { clientId: null, token: null, tabId: parsed.tabId, socketId: socket.id };
      return admitRemote(request).then((verdict) => remote(verdict, address, parsed.tabId));
    }
    try {
      const issued = internals.register(parsed.tabId === null ? {} : { tabId: parsed.tabId });
      return { ok: true, binding: { clientId: issued.clientId, tabId: parsed.tabId, issued, address } };
    } catch (error) {
      if (isSupervisorError(error) && error.code === 'CLIENT_LIMIT') {
        // register() has reported this rejection already
        return {
          ...refuse('CLIENT_LIMIT', 'the server has as many clients as it accepts; retry later'),
          reported: true,
        };
      }
      if (isSupervisorError(error) && error.code === 'CLOSED') return refuse('SHUTTING_DOWN', SHUTTING_DOWN);
      throw error;
    }
  }

  /**
   * The verdict on a handshake; never throws, whatever the socket carries. Synchronous on a single
   * node; a promise (that never rejects) only when the supervisor admits remotely (cluster mode).
   */
  function admit(socket: Socket): Verdict | Promise<Verdict> {
    let address = '';
    const unprocessable = (error: unknown): Verdict => {
      logger.warn({ err: error }, 'socket.io-supervisor: a handshake could not be processed');
      return failed(address, 'INVALID_HANDSHAKE', 'the handshake could not be processed', null);
    };
    try {
      address = addressOf(socket);
      const verdict = decide(socket, address);
      return verdict instanceof Promise ? verdict.catch(unprocessable) : verdict;
    } catch (error) {
      return unprocessable(error);
    }
  }

  return { admit, shuttingDown: () => refuse('SHUTTING_DOWN', SHUTTING_DOWN) };
}

export type Admission = ReturnType<typeof createAdmission>;
