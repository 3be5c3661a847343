import type { ClientView } from './types.js';

/** What a client's view is made of: a node's record, or (cluster mode) the record in Redis. */
export type ViewSource<TData> = Omit<ClientView<TData>, 'address' | 'outbox'> & { address?: string | null };

/**
 * The client's view: a plain object, never the token. Written out rather than a loop over the
 * snapshot's keys, for the reason `compactSnapshot` gives (a literal is far faster, and `list()`
 * makes one view per client); its return type keeps it complete.
 */
export function viewOf<TData>(source: ViewSource<TData>, outbox: ClientView['outbox']): ClientView<TData> {
  return {
    clientId: source.clientId,
    state: source.state,
    socketId: source.socketId,
    tabId: source.tabId,
    createdAt: source.createdAt,
    connectedAt: source.connectedAt,
    disconnectedAt: source.disconnectedAt,
    expiresAt: source.expiresAt,
    address: source.address ?? null,
    outbox,
    data: source.data,
  };
}
