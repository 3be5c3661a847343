import type { InspectedClient } from '../core/inspectable.js';
import type { ClientView } from '../core/types.js';

/** How a client is shown to viewers: its view, its address, and its `data` as bounded text. */
export interface ClientRow extends Omit<ClientView, 'data'> {
  /** The remote address of its latest socket (`null` before its first socket). */
  address: string | null;
  /** `data` as JSON text (after `redact`), cut at 1,000 characters; `null` when hidden or absent. */
  data: string | null;
  /** Cluster mode: the node that owns it (`null` while none does); always `null` on a single node. */
  node: string | null;
  /** Cluster mode: its fence; `null` on a single node. */
  fence: number | null;
}

/** The longest `data` text sent per client: the table shows a line of it, the filter searches it. */
export const MAX_DATA_TEXT = 1000;

export interface RowOptions {
  /** `false`: no client's `data` leaves the server. */
  showData: boolean;
  /** Maps `data` before it is shown (remove secrets, personal data). */
  redact: ((data: unknown, client: ClientView) => unknown) | undefined;
}

function dataText(view: ClientView, options: RowOptions): string | null {
  if (!options.showData) return null;
  let shown: unknown = view.data;
  try {
    if (options.redact) shown = options.redact(view.data, view);
    if (shown === undefined || shown === null) return null;
    // app data may hold cycles, BigInts or getters that throw: it must not break the batch
    const text = JSON.stringify(shown);
    if (text === undefined) return null;
    return text.length > MAX_DATA_TEXT ? `${text.slice(0, MAX_DATA_TEXT - 1)}…` : text;
  } catch {
    return '(not shown: redact threw or data is not JSON)';
  }
}

/** The row of one client, as the page and `state.json` get it. Never the token (a view has none). */
export function clientRow(view: InspectedClient, options: RowOptions): ClientRow {
  return {
    clientId: view.clientId,
    state: view.state,
    socketId: view.socketId,
    tabId: view.tabId,
    createdAt: view.createdAt,
    connectedAt: view.connectedAt,
    disconnectedAt: view.disconnectedAt,
    expiresAt: view.expiresAt,
    address: view.address,
    outbox: view.outbox,
    node: view.node ?? null,
    fence: view.fence ?? null,
    data: dataText(view, options),
  };
}
