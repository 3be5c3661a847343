import type { Inspectable, InspectedClient } from '../core/inspectable.js';
import { type ClientRow, clientRow, type RowOptions } from './clientRow.js';
import type { PageQuery, SortKey } from './viewerMessages.js';

/** One page as read for a viewer. */
export interface ReadPage {
  rows: ClientRow[];
  /** Where the next page starts (the store's cursor, or an offset on a single node); `null` at the end. */
  next: string | null;
  /** Single node: how many clients match, and where this page starts among them; cluster: `null`. */
  total: number | null;
  offset: number | null;
  /** Cluster mode, searching by a prefix: how many records this page read to find its rows. */
  searched: number | null;
}

/**
 * The most records one prefix search reads from Redis per page (and per refresh of that page):
 * Redis has no index of id prefixes, so a search walks the state sets, at most this far at a time,
 * and hands back where it stopped.
 */
export const SEARCH_BUDGET = 2000;

const ID_TEXT = /^[A-Za-z0-9_-]+$/;

/** When the client entered its current state, as far as its view tells. */
const since = (c: InspectedClient | ClientRow): number => c.disconnectedAt ?? c.connectedAt ?? c.createdAt;

type Sortable = InspectedClient | ClientRow;

function sortValue(c: Sortable, key: SortKey, cluster: boolean): string | number {
  if (key === 'since') return since(c);
  if (key === 'expiresAt') return c.expiresAt ?? Number.POSITIVE_INFINITY;
  if (key === 'outbox') return c.outbox?.depth ?? 0;
  if (key === 'tabId' && cluster) return c.node ?? '';
  const value = c[key];
  return typeof value === 'string' || typeof value === 'number' ? value : '';
}

function sortRows<T extends Sortable>(list: T[], sort: PageQuery['sort'], cluster: boolean): T[] {
  const { key, asc } = sort ?? { key: 'createdAt', asc: false };
  return list.sort((a, b) => {
    const x = sortValue(a, key, cluster);
    const y = sortValue(b, key, cluster);
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
  });
}

/** Where a page starts, kept inside the matches (the clients may have gone since it was handed out). */
function pageStart(start: string | null, total: number, limit: number): number {
  const requested = start === null ? 0 : Number(start);
  return Math.max(0, Math.min(requested, (Math.ceil(total / limit) - 1) * limit));
}

/**
 * A single node's page: every client is in memory, so the page is filtered by text in any column
 * (as the table shows it, `data` included), sorted by any column, and cut at an offset, as the
 * whole table was. Rows (their `data` as text) are built only for the page, unless the search or
 * the sort needs every row's text.
 */
function memoryPage(list: InspectedClient[], query: PageQuery, start: string | null, rows: RowOptions): ReadPage {
  const inState = list.filter((c) => query.state === null || c.state === query.state);
  const needle = query.search.toLowerCase();
  const built = needle !== '' || query.sort?.key === 'data';
  let matching: Sortable[] = inState;
  if (built) {
    matching = inState.map((c) => clientRow(c, rows));
    if (needle !== '') {
      matching = (matching as ClientRow[]).filter((r) =>
        [r.clientId, r.state, r.socketId, r.tabId, r.address, r.data].some(
          (v) => typeof v === 'string' && v.toLowerCase().includes(needle),
        ),
      );
    }
  }
  sortRows(matching, query.sort, false);
  const total = matching.length;
  const offset = pageStart(start, total, query.limit);
  const end = offset + query.limit;
  return {
    rows: built
      ? (matching.slice(offset, end) as ClientRow[])
      : (matching.slice(offset, end) as InspectedClient[]).map((c) => clientRow(c, rows)),
    next: end < total ? String(end) : null,
    total,
    offset,
    searched: null,
  };
}

type ListPage = NonNullable<Inspectable['listPage']>;

/**
 * A cluster node's page, read from Redis: one `listPage` of about `limit` clients, from `start`.
 * A search is a client id (one read) or the start of one: the state sets are walked a page at a
 * time, at most {@link SEARCH_BUDGET} records, until the page is full.
 */
async function clusterPage(
  source: Inspectable,
  listPage: ListPage,
  query: PageQuery,
  start: string | null,
  rows: RowOptions,
): Promise<ReadPage> {
  const state = query.state ?? undefined;
  const read = (cursor: string | null) =>
    listPage({ ...(state ? { state } : {}), ...(cursor === null ? {} : { cursor }), limit: query.limit });
  const done = (found: InspectedClient[], next: string | null, searched: number | null): ReadPage => ({
    rows: sortRows(
      found.map((c) => clientRow(c, rows)),
      query.sort,
      true,
    ),
    next,
    total: null,
    offset: null,
    searched,
  });
  if (query.search === '') {
    const page = await read(start);
    return done(page.clients, page.cursor, null);
  }
  // only an id's characters can start an id: anything else matches nothing, read nothing
  if (!ID_TEXT.test(query.search)) return done([], null, 0);
  if (start === null) {
    const exact = await source.get(query.search);
    if (exact && (query.state === null || exact.state === query.state)) return done([exact], null, 1);
  }
  const found: InspectedClient[] = [];
  let cursor = start;
  let searched = 0;
  do {
    const page = await read(cursor);
    searched += page.clients.length;
    for (const client of page.clients) if (client.clientId.startsWith(query.search)) found.push(client);
    cursor = page.cursor;
  } while (cursor !== null && found.length < query.limit && searched < SEARCH_BUDGET);
  return done(found, cursor, searched);
}

/** The page `query` asks for, from `start` (`null`: the first), read from the supervisor `source`. */
export async function readPage(
  source: Inspectable,
  query: PageQuery,
  start: string | null,
  rows: RowOptions,
): Promise<ReadPage> {
  if (source.listPage) return clusterPage(source, source.listPage, query, start, rows);
  return memoryPage(source.list?.() ?? [], query, start, rows);
}
