/**
 * socket.io-supervisor/client: the browser side. Wraps a socket.io-client `Socket` so that every
 * connection attempt presents the page's credentials, remembers what an `autoRegister` server
 * hands out, and tells the app what the server made of it.
 *
 * No Node built-ins, and no runtime import outside this directory but the wire protocol
 * (`../protocol.js`, itself import-free, which the build copies beside `index.js` as
 * `./protocol.js`): socket.io-client is only referenced for its types, so the directory can be
 * served to a browser as it is.
 */
import type { Socket } from 'socket.io-client';
import { CLIENT_GONE_CODES, REFUSED_CODES, RETRY_LATER_CODES, SERVER_EVENTS } from '../protocol.js';
import { createInbox, type MessageHandler } from './inbox.js';

export {
  CLIENT_EVENTS,
  CLIENT_GONE_CODES,
  REFUSED_CODES,
  REJECT_CODES,
  RETRY_LATER_CODES,
  type RejectCode,
  SERVER_EVENTS,
} from '../protocol.js';
export type { MessageHandler } from './inbox.js';

/** What the page holds to resume its client. */
export interface Credentials {
  clientId: string;
  token: string;
}

/** The client's state as the browser sees it. */
export type SupervisedState =
  /** first connection attempt under way */
  | 'connecting'
  | 'connected'
  /** the socket dropped, or the server asked to come back later; the helper or socket.io-client retries */
  | 'reconnecting'
  /**
   * the socket is down and nothing retries: the page closed it (`socket.disconnect()`), or it
   * dropped with socket.io-client's `reconnection: false`. `socket.connect()` resumes the same
   * client while the server keeps it (its `reconnectTimeout`)
   */
  | 'disconnected'
  /**
   * this page has no client any more (deleted, unknown to the server, or refused for good):
   * `detail` says why; unless the server auto-registers, only a reload helps
   */
  | 'deleted'
  /** another socket (a duplicated tab) took the client over */
  | 'replaced';

/** Why the state changed, when the server said so. */
export interface SupervisedDetail {
  /** The rejection code (`connect_error.data.code`), or `CLIENT_DELETED` when the server deleted the client. */
  code?: string;
  /** The server's sentence (`connect_error.message`), e.g. "… reload the page to get a new one". */
  message?: string;
  /** The reason the server gave with `supervisor:deleted` / `supervisor:replaced`. */
  reason?: string;
}

/** The subset of the Web Storage API used; `sessionStorage` by default. */
export interface CredentialStorage {
  /** The value kept under `key`, or `null`. */
  getItem(key: string): string | null;
  /** Keeps `value` under `key`. */
  setItem(key: string, value: string): void;
  /** Forgets `key`. */
  removeItem(key: string): void;
}

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  /** Credentials rendered into the page by `supervisor.register()`; they win over stored ones. */
  credentials?: Credentials;
  /**
   * Where the tab id is kept, so it survives reloads of the tab. Credentials are never stored:
   * they live as long as this page instance, because a reload is a new client (docs/design.md).
   * @default globalThis.sessionStorage
   */
  storage?: CredentialStorage;
  /** Storage key prefix. @default 'socket.io-supervisor' */
  key?: string;
  /**
   * What to do when the page's client is gone (`CLIENT_DELETED`, `UNKNOWN_CLIENT`, or deleted
   * by the server while connected): `'reregister'` connects again without credentials, as a new
   * client, which only an `autoRegister` server accepts; `'stop'` stays `deleted`. A function
   * decides per code.
   * @default `'reregister'` when this page got its credentials from the server
   * (`supervisor:client`, so the server auto-registers), else `'stop'`: a page with
   * server-rendered credentials cannot get new ones without a reload, and a retry without them
   * could only fail with `INVALID_HANDSHAKE`
   */
  onInvalid?: 'reregister' | 'stop' | ((code: string) => 'reregister' | 'stop');
  /**
   * How long processed messages wait to be acknowledged together. The server asks for an
   * acknowledgement sooner when the client's outbox passes half of `outbox.maxMessages` or
   * `maxBytes`, so a longer delay (fewer acknowledgements) does not bring a fast stream to the bound.
   * @default 200 (ms)
   */
  ackDelay?: number;
  /** Called with what a message handler (`on()`) threw; without it the error is reported asynchronously. */
  onError?: (error: unknown, event: string) => void;
}

/** What {@link supervise} returns: the page's client as the server sees it, and its messages. */
export interface Supervised {
  /** The current state. */
  readonly state: SupervisedState;
  /** Why the current state was entered, when the server said so. */
  readonly detail: SupervisedDetail;
  /** The client id, once known. */
  readonly clientId: string | null;
  /** This tab's id (kept across reloads of the tab). */
  readonly tabId: string;
  /** Calls `listener` with every new state (and once at once with the current one). */
  subscribe(listener: (state: SupervisedState, detail: SupervisedDetail) => void): () => void;
  /** Forgets the credentials (the next connection is a new client). */
  forget(): void;
  /**
   * Receives the messages the server sends this page's client with `to(clientId).emit(event, ...)`:
   * each once and in order, across reconnects and socket swaps. Returns the unsubscribe function.
   */
  on(event: string, handler: MessageHandler): () => void;
}

/** In-memory storage for environments without `sessionStorage` (Node, workers). */
export function memoryStorage(): CredentialStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

function defaultStorage(): CredentialStorage {
  const session = (globalThis as { sessionStorage?: CredentialStorage }).sessionStorage;
  return session ?? memoryStorage();
}

function newTabId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

// Rejections the server means as "later" (it is shutting down, Redis is unreachable, the address
// or the server is at its limit): socket.io-client does not retry a rejected connection by itself,
// so the helper does, with socket.io-client's own backoff settings. REFUSED: these credentials
// are not the client's, or not credentials at all.
const RETRY_LATER = RETRY_LATER_CODES;
const REFUSED = REFUSED_CODES;

/**
 * Supervises a socket.io-client socket. Call it right after `io(url, { autoConnect: false })`
 * (or at least before the first connection completes), then `socket.connect()`.
 *
 * @example
 * const socket = io(url, { autoConnect: false });
 * const client = supervise(socket, { credentials: window.__SUPERVISOR__ });
 * client.subscribe((state, { message }) => {
 *   statusElement.textContent = state;
 *   if (state === 'deleted') showReloadBanner(message); // the server-rendered page needs a reload
 * });
 * socket.connect();
 */
export function supervise(socket: Socket, options: SuperviseOptions = {}): Supervised {
  const storage = options.storage ?? defaultStorage();
  const prefix = options.key ?? 'socket.io-supervisor';
  const tabKey = `${prefix}:tab`;
  const listeners = new Set<(state: SupervisedState, detail: SupervisedDetail) => void>();

  let tabId = storage.getItem(tabKey);
  if (!tabId) {
    tabId = newTabId();
    storage.setItem(tabKey, tabId);
  }
  // this page instance's client: kept in memory only, so a reload starts a new client while the
  // tab id (in storage) stays
  let credentials: Credentials | null = options.credentials
    ? { clientId: options.credentials.clientId, token: options.credentials.token }
    : null;
  // whether the server is known to hand out clients: it sent this page its credentials
  let serverAutoRegisters = false;
  let state: SupervisedState = 'connecting';
  let detail: SupervisedDetail = {};
  let reregistered = false;
  let retries = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  const inbox = createInbox(socket, {
    ...(options.ackDelay === undefined ? {} : { ackDelay: options.ackDelay }),
    ...(options.onError ? { onError: options.onError } : {}),
  });

  function set(next: SupervisedState, why: SupervisedDetail = {}): void {
    state = next;
    detail = why;
    for (const listener of [...listeners]) listener(next, why);
  }

  function forget(): void {
    credentials = null;
    // the next client's messages are numbered from 1 again
    inbox.reset();
  }

  function policyFor(code: string): 'reregister' | 'stop' {
    if (typeof options.onInvalid === 'function') return options.onInvalid(code);
    return options.onInvalid ?? (serverAutoRegisters ? 'reregister' : 'stop');
  }

  /** Connects again after socket.io-client's backoff (its `reconnectionDelay`, doubled per try up to `reconnectionDelayMax`). */
  function retryLater(): void {
    if (retryTimer !== null || !socket.io.reconnection()) return;
    const base = socket.io.reconnectionDelay();
    const delay = Math.min(base * 2 ** retries, Math.max(base, socket.io.reconnectionDelayMax()));
    retries += 1;
    // jitter, so a server's worth of tabs refused at once does not come back at once
    retryTimer = setTimeout(
      () => {
        retryTimer = null;
        if (!socket.connected) socket.connect();
      },
      delay * (0.5 + Math.random() / 2),
    );
  }

  /** The page's client is gone: say so, and start a new one only if the server will make it. */
  function gone(why: SupervisedDetail & { code: string }): void {
    forget();
    set('deleted', why);
    // one retry without credentials per loss; only an autoRegister server answers it with a client
    if (policyFor(why.code) === 'reregister' && !reregistered) {
      reregistered = true;
      set('connecting', why);
      if (socket.connected) return;
      if (why.reason !== undefined) retryLater();
      else socket.connect();
    }
  }

  // evaluated by socket.io-client on every connection attempt, so a reconnect presents whatever
  // credentials are current (including ones received from supervisor:client meanwhile)
  socket.auth = (callback: (data: object) => void) => {
    callback(credentials ? { clientId: credentials.clientId, token: credentials.token, tabId } : { tabId });
  };

  socket.on(SERVER_EVENTS.client, (issued: unknown) => {
    const { clientId, token } = (issued ?? {}) as Partial<Credentials>;
    if (typeof clientId !== 'string' || typeof token !== 'string') return;
    credentials = { clientId, token };
    serverAutoRegisters = true;
    // a page without credentials is connected once it knows which client it is
    if (socket.connected && state !== 'connected') connected();
  });
  socket.on(SERVER_EVENTS.replaced, (notice: unknown) => {
    set('replaced', { reason: (notice as { reason?: string } | null)?.reason ?? 'replaced' });
  });
  socket.on(SERVER_EVENTS.deleted, (notice: unknown) => {
    const { reason, code, message } = (notice ?? {}) as { reason?: unknown; code?: unknown; message?: unknown };
    // the server closes this socket right after; a new client, if any, comes after a pause
    gone({
      code: typeof code === 'string' && CLIENT_GONE_CODES.has(code) ? code : 'CLIENT_DELETED',
      reason: typeof reason === 'string' ? reason : 'deleted',
      ...(typeof message === 'string' ? { message } : {}),
    });
  });
  function connected(): void {
    reregistered = false;
    retries = 0;
    set('connected');
  }
  socket.on('connect', () => {
    // without credentials, the server's supervisor:client follows right after connect (autoRegister)
    if (credentials) connected();
  });
  socket.on('disconnect', (reason: string) => {
    if (state === 'replaced' || state === 'deleted' || (state === 'connecting' && reregistered)) {
      // a new client is on its way after a server-side delete: connect once this socket is down
      if (state === 'connecting' && reason === 'io server disconnect') retryLater();
      return;
    }
    set(afterDisconnect(reason), { reason });
  });
  /**
   * What socket.io-client does after a disconnect, as its documentation puts it: after `io server
   * disconnect` (the server closed the socket without a notice) and `io client disconnect` (the
   * page called `socket.disconnect()`) it does not reconnect; after anything else it does, unless
   * the socket was made with `reconnection: false`.
   */
  function afterDisconnect(reason: string): SupervisedState {
    if (reason === 'io server disconnect') return 'deleted';
    if (reason === 'io client disconnect' || !socket.io.reconnection()) return 'disconnected';
    return 'reconnecting';
  }
  socket.on('connect_error', (error: Error & { data?: { code?: unknown } }) => {
    const code = typeof error.data?.code === 'string' ? error.data.code : undefined;
    const why: SupervisedDetail = code ? { code, message: error.message } : { message: error.message };
    const pending = state === 'connecting' ? 'connecting' : 'reconnecting';
    if (!code) {
      // the transport failed (server down, network): socket.io-client retries on its own
      set(pending, why);
      return;
    }
    if (CLIENT_GONE_CODES.has(code)) return gone({ ...why, code });
    if (RETRY_LATER.has(code)) {
      set(pending, why);
      retryLater();
      return;
    }
    if (REFUSED.has(code)) {
      // a retry would get the same answer: this is where the page stops, with the server's sentence
      forget();
      set('deleted', why);
      return;
    }
    // a code of the app's own middleware: the app knows what it means
    set(pending, why);
  });

  return {
    get state() {
      return state;
    },
    get detail() {
      return detail;
    },
    get clientId() {
      return credentials?.clientId ?? null;
    },
    tabId,
    subscribe(listener) {
      listeners.add(listener);
      listener(state, detail);
      return () => listeners.delete(listener);
    },
    forget,
    on: inbox.on,
  };
}
