/**
 * socket.io-supervisor/client: the browser side. Wraps a socket.io-client `Socket` so that every
 * connection attempt presents the page's credentials, remembers what an `autoRegister` server
 * hands out, and tells the app what the server made of it.
 *
 * No Node built-ins and no runtime import: socket.io-client is only referenced for its types, so
 * this file can be served to a browser as it is.
 */
import type { Socket } from 'socket.io-client';

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
  /** the socket dropped; socket.io-client is retrying within the server's grace period */
  | 'reconnecting'
  /** the server deleted the client (or no longer knows it): this page has no client any more */
  | 'deleted'
  /** another socket (a duplicated tab) took the client over */
  | 'replaced';

/** The subset of the Web Storage API used; `sessionStorage` by default. */
export interface CredentialStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface SuperviseOptions {
  /** Credentials rendered into the page by `supervisor.register()`; they win over stored ones. */
  credentials?: Credentials;
  /**
   * Where the tab id is kept, so it survives reloads of the tab. Credentials are never stored:
   * they live as long as this page instance, because a reload is a new client (DESIGN.md).
   * @default globalThis.sessionStorage
   */
  storage?: CredentialStorage;
  /** Storage key prefix. @default 'socket.io-supervisor' */
  key?: string;
  /**
   * What to do when the server says the client is gone (`CLIENT_DELETED`, `UNKNOWN_CLIENT`):
   * `'reregister'` forgets the credentials and connects again without them (the server must
   * have `autoRegister`); `'stop'` stays disconnected. A function decides per case.
   * @default 'reregister'
   */
  onInvalid?: 'reregister' | 'stop' | ((code: string) => 'reregister' | 'stop');
}

export interface Supervised {
  /** The current state. */
  readonly state: SupervisedState;
  /** The client id, once known. */
  readonly clientId: string | null;
  /** This tab's id (kept across reloads of the tab). */
  readonly tabId: string;
  /** Calls `listener` with every new state (and once at once with the current one). */
  subscribe(listener: (state: SupervisedState, detail: { code?: string }) => void): () => void;
  /** Forgets the credentials (the next connection is a new client). */
  forget(): void;
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

/**
 * Supervises a socket.io-client socket. Call it right after `io(url, { autoConnect: false })`
 * (or at least before the first connection completes), then `socket.connect()`.
 *
 * @example
 * const socket = io(url, { autoConnect: false });
 * const client = supervise(socket, { credentials: window.__SUPERVISOR__ });
 * client.subscribe((state) => (statusElement.textContent = state));
 * socket.connect();
 */
export function supervise(socket: Socket, options: SuperviseOptions = {}): Supervised {
  const storage = options.storage ?? defaultStorage();
  const prefix = options.key ?? 'socket.io-supervisor';
  const tabKey = `${prefix}:tab`;
  const listeners = new Set<(state: SupervisedState, detail: { code?: string }) => void>();

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
  let state: SupervisedState = 'connecting';
  let retriedInvalid = false;

  function set(next: SupervisedState, detail: { code?: string } = {}): void {
    state = next;
    for (const listener of [...listeners]) listener(next, detail);
  }

  function forget(): void {
    credentials = null;
  }

  // evaluated by socket.io-client on every connection attempt, so a reconnect presents whatever
  // credentials are current (including ones received from supervisor:client meanwhile)
  socket.auth = (callback: (data: object) => void) => {
    callback(credentials ? { clientId: credentials.clientId, token: credentials.token, tabId } : { tabId });
  };

  socket.on('supervisor:client', (issued: Credentials) => {
    credentials = { clientId: issued.clientId, token: issued.token };
  });
  socket.on('supervisor:replaced', () => set('replaced'));
  socket.on('supervisor:deleted', () => {
    forget();
    set('deleted');
  });
  socket.on('connect', () => {
    retriedInvalid = false;
    set('connected');
  });
  socket.on('disconnect', (reason: string) => {
    if (state === 'replaced' || state === 'deleted') return;
    // io server disconnect: socket.io-client will not retry; anything else it retries
    set(reason === 'io server disconnect' ? 'deleted' : 'reconnecting');
  });
  socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
    const code = error.data?.code;
    if (code !== 'CLIENT_DELETED' && code !== 'UNKNOWN_CLIENT') {
      if (code) set(state === 'connecting' ? 'connecting' : 'reconnecting', { code });
      return;
    }
    forget();
    set('deleted', { code });
    const policy =
      typeof options.onInvalid === 'function' ? options.onInvalid(code) : (options.onInvalid ?? 'reregister');
    // one retry without credentials; a server without autoRegister answers INVALID_HANDSHAKE
    // and the socket stays down instead of looping
    if (policy === 'reregister' && !retriedInvalid) {
      retriedInvalid = true;
      set('connecting');
      socket.connect();
    }
  });

  return {
    get state() {
      return state;
    },
    get clientId() {
      return credentials?.clientId ?? null;
    },
    tabId,
    subscribe(listener) {
      listeners.add(listener);
      listener(state, {});
      return () => listeners.delete(listener);
    },
    forget,
  };
}
