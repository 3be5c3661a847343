// The inspector page. Plain ES modules: socket.io's own client bundle, no framework, no CDN.
import { drawChart } from './chart.js';

const config = window.__INSPECTOR__;
const { io } = await import(`${config.socketPath}/socket.io.esm.min.js`);

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
};

const PAGE_SIZE = 50;
const LOG_SIZE = 500;
const state = {
  // the page of clients on screen, as the server read it for this viewer (view → page)
  rows: [],
  pageInfo: { next: null, total: null, offset: null, searched: null, limit: PAGE_SIZE },
  // where the page on screen starts (a `next` the server handed out; null: the first page), and
  // the pages before it, for ‹
  cursor: null,
  back: [],
  seq: 0,
  stateFilter: '',
  // the selected client's latest row (it may be on no page on screen)
  selectedRow: null,
  since: new Map(), // clientId -> when it entered its current state (server clock)
  history: new Map(), // clientId -> its recent events
  log: [],
  counts: { handshaking: 0, connected: 0, disconnected: 0, total: 0 },
  stats: { ignored: {}, deleted: {}, rejected: {}, hookErrors: 0 },
  // cluster mode: the live nodes, and this inspector's own node
  nodes: [],
  nodeId: null,
  chart: null,
  // cluster mode: this node's own machine and the state it is in
  nodeChart: null,
  nodeState: null,
  clockOffset: 0,
  selected: null,
  paused: false,
  filter: '',
  sort: { key: 'createdAt', asc: false },
};
const serverNow = () => Date.now() + state.clockOffset;

// the token opens the page once; the server answered with a cookie (for the page and for the
// live connection), so it leaves the address bar, the history and any screenshot
const token = new URLSearchParams(location.search).get('token') ?? undefined;
if (token) history.replaceState(null, '', location.pathname + location.hash);
const socket = io(config.namespace, {
  path: config.socketPath,
  auth: token ? { token } : {},
  transports: ['websocket'],
});
socket.on('connect', () => setConnection('live', 'live'));
socket.on('disconnect', () => setConnection('disconnected', ''));
socket.on('connect_error', (error) => setConnection(`not connected: ${error.message}`, ''));

function setConnection(text, cls) {
  $('connection').textContent = state.paused && cls === 'live' ? 'paused' : text;
  $('connection').className = `pill ${state.paused && cls === 'live' ? 'paused' : cls}`;
}

let statusTimer = null;
/** Says what an action did, in the header, for a while. */
function status(text, kind = 'ok') {
  $('status').textContent = text;
  $('status').className = kind;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    $('status').textContent = '';
  }, 10_000);
}

function remember(event) {
  const list = state.history.get(event.clientId) ?? [];
  list.push(event);
  if (list.length > 100) list.shift();
  state.history.set(event.clientId, list);
  if (['registered', 'connected', 'reconnected', 'disconnected'].includes(event.type))
    state.since.set(event.clientId, event.at);
}

/**
 * Asks the server for the page to show: it reads that page only (from Redis in cluster mode, at
 * each refresh too), never every client. Answers to earlier asks are ignored (`seq`).
 */
function requestView() {
  state.seq += 1;
  const query = {
    search: state.filter,
    cursor: state.cursor,
    limit: PAGE_SIZE,
    sort: state.sort,
    seq: state.seq,
    ...(state.stateFilter ? { state: state.stateFilter } : {}),
  };
  socket.emit('view', query, (reply) => {
    if (reply?.error) status(`the page could not be shown: ${reply.error}`, 'error');
  });
}
/** From the first page again (a new search, state or order; a new connection knows no cursor). */
function firstPage() {
  state.cursor = null;
  state.back = [];
  requestView();
}

socket.on('page', (page) => {
  if (page.seq !== state.seq) return;
  if (page.error) {
    status(page.error, 'error');
    // a page the server forgot: start again from the first
    if (page.lost) firstPage();
    return;
  }
  state.clockOffset = page.serverNow - Date.now();
  state.rows = page.rows;
  state.pageInfo = page;
  for (const c of page.rows) {
    if (!state.since.has(c.clientId)) state.since.set(c.clientId, c.disconnectedAt ?? c.connectedAt ?? c.createdAt);
    if (c.clientId === state.selected) state.selectedRow = c;
  }
  render();
});

socket.on('snapshot', (snap) => {
  state.clockOffset = snap.serverNow - Date.now();
  firstPage();
  state.counts = snap.counts;
  state.stats = snap.stats;
  state.nodes = snap.nodes ?? [];
  state.nodeId = snap.nodeId ?? null;
  state.chart = snap.chart;
  state.nodeChart = snap.nodeChart ?? null;
  state.nodeState = snap.nodeState ?? null;
  state.log = snap.recent.slice(-LOG_SIZE);
  for (const event of snap.recent) remember(event);
  $('prune').hidden = !snap.allowWrites;
  render();
});

socket.on('update', (update) => {
  state.clockOffset = update.serverNow - Date.now();
  // this node's own changes show at once on the page on screen; the page itself is read again by
  // the server (at each change on a single node, every refreshInterval in cluster mode)
  const changed = new Map(update.changed.map((view) => [view.clientId, view]));
  const removed = new Set(update.removed);
  state.rows = state.rows.filter((c) => !removed.has(c.clientId)).map((c) => changed.get(c.clientId) ?? c);
  if (state.selected && changed.has(state.selected)) state.selectedRow = changed.get(state.selected);
  if (state.selected && removed.has(state.selected)) state.selectedRow = null;
  state.counts = update.counts;
  state.stats = update.stats;
  if (config.cluster) state.nodes = update.nodes ?? state.nodes;
  if (update.nodeState) state.nodeState = update.nodeState;
  for (const event of update.events) remember(event);
  if (!state.paused) {
    state.log.push(...update.events);
    if (update.dropped) state.log.push({ type: 'dropped', clientId: '', at: update.serverNow, count: update.dropped });
    if (state.log.length > LOG_SIZE) state.log.splice(0, state.log.length - LOG_SIZE);
  }
  render();
});

// ------------------------------------------------------------------ times, in the viewer's zone
const pad = (n, width = 2) => String(n).padStart(width, '0');
/** `HH:MM:SS.mmm` in the viewer's time zone (named in the log's header). */
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function zoneLabel() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const offset = `UTC${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return name && name !== 'UTC' ? `${name} (${offset})` : offset;
}
const timeOf = (ms) =>
  el('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString() }, clock(ms));
$('log-zone').textContent = `times in ${zoneLabel()}`;
if (config.cluster) {
  const tabHeader = document.querySelector('th[data-sort="tabId"]');
  if (tabHeader) tabHeader.textContent = 'node';
}

// ------------------------------------------------------------------ counters
function counter(title, entries) {
  const rows = entries.length
    ? entries.map(([k, v]) => el('div', { class: 'kv' }, el('span', {}, k), el('b', {}, String(v))))
    : [el('div', { class: 'none' }, 'none')];
  return el('div', { class: 'counter' }, el('h3', {}, title), ...rows);
}
function renderCounters() {
  const { counts, stats } = state;
  $('counters').replaceChildren(
    counter('clients by state', [
      ['handshaking', counts.handshaking],
      ['connected', counts.connected],
      ['disconnected', counts.disconnected],
    ]),
    ...(config.cluster
      ? [
          counter(
            `nodes (this page: ${state.nodeId ?? '?'}; counters below are its own)`,
            state.nodes.map((n) => [
              `${n.node} #${n.incarnation}${n.state === 'alive' ? '' : ` (${n.state})`}`,
              n.clients,
            ]),
          ),
        ]
      : []),
    counter('deleted by reason', Object.entries(stats.deleted)),
    counter('ignored by why', Object.entries(stats.ignored)),
    counter('rejected by code', Object.entries(stats.rejected)),
    counter('hook errors', [['total', stats.hookErrors]]),
  );
}

// ------------------------------------------------------------------ clients table
const seconds = (ms) =>
  ms < 0 ? '0.0 s' : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min`;
/** Unacknowledged messages of `to(clientId).emit()` and the age of the oldest: `3 · 12s`. */
function outboxText(c, now) {
  const depth = c.outbox?.depth ?? 0;
  if (depth === 0) return '';
  return c.outbox.oldestAt === null ? String(depth) : `${depth} · ${seconds(now - c.outbox.oldestAt)}`;
}

/** The row's delete button: a first click arms it, a second within 4 s deletes. */
function deleteButton(clientId) {
  let armed = null;
  const button = el('button', { type: 'button', class: 'danger', title: `delete client ${clientId}` }, 'delete');
  const disarm = () => {
    clearTimeout(armed);
    armed = null;
    button.textContent = 'delete';
    button.classList.remove('armed');
  };
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (!armed) {
      button.textContent = 'confirm';
      button.classList.add('armed');
      armed = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    socket.emit('delete', { clientId }, (reply) => {
      if (reply?.error) status(`delete failed: ${reply.error}`, 'error');
      else if (reply?.deleted) status(`deleted client ${clientId.slice(0, 8)}…`);
      else status(`client ${clientId.slice(0, 8)}… was already gone`);
    });
  });
  return button;
}

const COLUMNS = 11;
const rowCache = new Map(); // clientId -> { tr, cells, keys }: one <tr> per client, reused
function tableRow(clientId) {
  let row = rowCache.get(clientId);
  if (row) return row;
  const cells = Array.from({ length: COLUMNS }, () => el('td'));
  cells[0].append(el('code', { title: clientId }, clientId));
  if (config.allowWrites) cells[10].append(deleteButton(clientId));
  const tr = el('tr', { 'data-client': clientId }, ...cells);
  row = { tr, cells, keys: [] };
  rowCache.set(clientId, row);
  return row;
}
function setCell(row, index, key, build) {
  if (row.keys[index] === key) return;
  row.keys[index] = key;
  row.cells[index].replaceChildren(build(key));
  row.cells[index].title = typeof key === 'string' ? key : '';
}
/** Where the page is: `3 / 200` on a single node (every client counted); `page 3` and whether more follow in cluster mode. */
function pageLabel() {
  const { total, offset, limit, next } = state.pageInfo;
  if (total !== null && offset !== null) {
    return `${Math.floor(offset / limit) + 1} / ${Math.max(1, Math.ceil(total / limit))}`;
  }
  return `page ${state.back.length + 1}${next === null ? ' (last)' : ''}`;
}
function countLabel() {
  const { total, searched } = state.pageInfo;
  if (total !== null) return `${total} of ${state.counts.total}`;
  const read = searched === null ? '' : ` · searched ${searched}`;
  return `${state.rows.length} on this page of ${state.counts.total}${read}`;
}
function renderTable() {
  const now = serverNow();
  // the server sorted the page (a single node: every client; cluster mode: the rows of the page)
  const visible = state.rows;
  const rows = visible.map((c) => {
    const row = tableRow(c.clientId);
    row.tr.className = c.clientId === state.selected ? 'selected' : '';
    setCell(row, 1, c.state, () => el('span', { class: `state ${c.state}` }, c.state));
    setCell(row, 2, c.socketId ?? '', (id) => el('code', {}, id || '—'));
    setCell(row, 3, c.address ?? '', (address) => address || '—');
    // cluster mode: the tab column shows the owning node instead (the tab is in the details)
    if (config.cluster) setCell(row, 4, c.node ?? '', (node) => node || 'none');
    else setCell(row, 4, c.tabId ?? '', (tab) => tab || '—');
    setCell(row, 5, c.data ?? '', (data) => (data ? el('code', { class: 'data' }, data) : '—'));
    setCell(row, 6, seconds(now - c.createdAt), (text) => text);
    setCell(row, 7, seconds(now - (state.since.get(c.clientId) ?? c.createdAt)), (text) => text);
    setCell(row, 8, c.expiresAt ? seconds(c.expiresAt - now) : '', (text) =>
      text ? el('span', { class: 'countdown' }, text) : '',
    );
    setCell(row, 9, outboxText(c, now), (text) => text || '—');
    return row.tr;
  });
  // rows are kept and only their changed cells rewritten: a click that lands while the table
  // refreshes (every 250 ms) reaches its row instead of a node that was just replaced
  const tbody = $('rows');
  const same = tbody.children.length === rows.length && rows.every((tr, i) => tbody.children[i] === tr);
  if (!same) tbody.replaceChildren(...rows);
  // only the rows on screen are kept: the page stays small with 10,000 clients
  const onScreen = new Set(visible.map((c) => c.clientId));
  for (const id of rowCache.keys()) if (!onScreen.has(id)) rowCache.delete(id);
  $('client-count').textContent = countLabel();
  $('page').textContent = pageLabel();
  $('prev').disabled = state.back.length === 0;
  $('next').disabled = state.pageInfo.next === null;
  for (const th of document.querySelectorAll('th[data-sort]')) {
    th.className = th.dataset.sort === state.sort.key ? `sorted ${state.sort.asc ? 'asc' : ''}` : '';
  }
}

// ------------------------------------------------------------------ statechart and details
const colorOf = (id) => getComputedStyle(document.documentElement).getPropertyValue(`--${id}`).trim() || '#56607a';
let drawn = '';
function renderChart() {
  if (!state.chart) return;
  const current = state.selected ? (state.selectedRow?.state ?? 'deleted') : null;
  const available = Math.floor($('chart').clientWidth);
  const key = `${current}|${available}`;
  if (key !== drawn) {
    drawn = key;
    $('chart').innerHTML = drawChart(state.chart, current, available, colorOf);
  }
  $('selected-label').textContent = state.selected ? `${state.selected} · ${current}` : 'select a client';
}
let nodeDrawn = '';
function renderNodeChart() {
  const panel = $('node-panel');
  panel.hidden = !state.nodeChart;
  if (!state.nodeChart) return;
  const available = Math.floor($('node-chart').clientWidth);
  const key = `${state.nodeState}|${available}`;
  if (key !== nodeDrawn) {
    nodeDrawn = key;
    $('node-chart').innerHTML = drawChart(state.nodeChart, state.nodeState, available, colorOf);
  }
  const anywhere = (state.nodeChart.anywhere ?? []).map((t) => `${t.event} → ${t.to} from any state`).join('; ');
  $('node-label').textContent = `${state.nodeId ?? ''} · ${state.nodeState ?? '?'}${anywhere ? ` · ${anywhere}` : ''}`;
}
function renderDetails() {
  // a deleted client's history can still be exported: that is when it is most wanted
  $('export').hidden = !(state.selected && (state.history.get(state.selected)?.length ?? 0) > 0);
  const c = state.selected ? state.selectedRow : null;
  $('details').hidden = !c;
  if (!c) return $('details').replaceChildren();
  const item = (term, value) => [el('dt', {}, term), el('dd', {}, value ?? '—')];
  $('details').replaceChildren(
    ...item('client', el('code', {}, c.clientId)),
    ...item('state', c.state),
    ...item('socket', c.socketId),
    ...item('address', c.address),
    ...item('tab', c.tabId),
    ...(config.cluster
      ? [...item('node', c.node ?? 'none (waiting for a reconnect)'), ...item('fence', String(c.fence))]
      : []),
    ...item('created', timeOf(c.createdAt)),
    ...item('outbox', outboxText(c, serverNow()) || 'empty'),
    ...item('data', c.data ? el('code', { class: 'data' }, c.data) : null),
  );
}

/** Export as test: the server turns this client's recorded history into a vitest file to download. */
$('export').addEventListener('click', () => {
  const clientId = state.selected;
  const events = clientId ? (state.history.get(clientId) ?? []) : [];
  if (!clientId || events.length === 0) return;
  socket.emit('export', { clientId, events }, (reply) => {
    if (!reply?.source) return status(`export failed: ${reply?.error ?? 'no answer'}`, 'error');
    const link = el('a', {
      href: URL.createObjectURL(new Blob([reply.source], { type: 'text/typescript' })),
      download: reply.filename,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    status(`exported ${events.length} events of client ${clientId.slice(0, 8)}… as ${reply.filename}`);
  });
});

// ------------------------------------------------------------------ event log
function describe(e) {
  switch (e.type) {
    case 'ignored':
      return `ignored ${e.event} (${e.why})`;
    case 'deleted':
      return `deleted (${e.reason}) from ${e.from}`;
    case 'disconnected':
      return `disconnected (${e.reason}), deleted at +${seconds(e.expiresAt - e.at)}`;
    case 'rejected':
      return `rejected ${e.code}: ${e.message}`;
    case 'undelivered':
      return `${e.count} message${e.count === 1 ? '' : 's'} undelivered (${e.reason})`;
    case 'hook-error':
      return `${e.hook} failed${e.timedOut ? ' (timed out)' : ''}: ${e.message}`;
    case 'socket-replaced':
      return `socket replaced ${e.previousSocketId} → ${e.socketId}`;
    case 'dropped':
      return `… ${e.count} events dropped (viewer too slow)`;
    default:
      return e.type + (e.socketId ? ` ${e.socketId}` : '');
  }
}
function renderLog() {
  const source = state.selected ? (state.history.get(state.selected) ?? []) : state.log;
  const items = source
    .slice(-200)
    .reverse()
    .map((e) =>
      el(
        'li',
        { class: e.type },
        timeOf(e.at),
        el(
          'span',
          { class: 'what' },
          state.selected ? '' : el('code', { title: e.clientId || '' }, `${(e.clientId || '—').slice(0, 8)} `),
          describe(e),
        ),
      ),
    );
  $('log').replaceChildren(...items);
  $('log-scope').textContent = state.selected ? `client ${state.selected.slice(0, 8)}…` : 'all clients';
  $('all-events').hidden = !state.selected;
  $('pause').textContent = state.paused ? 'resume' : 'pause';
}

function select(clientId) {
  state.selected = state.selected === clientId ? null : clientId;
  state.selectedRow = state.rows.find((c) => c.clientId === state.selected) ?? null;
  render();
}

let scheduled = false;
function render() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    renderCounters();
    renderTable();
    renderChart();
    renderNodeChart();
    renderDetails();
    renderLog();
  });
}

// ------------------------------------------------------------------ controls
$('rows').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-client]');
  if (tr) select(tr.dataset.client);
});
// a search is asked for once typing pauses, not at every key
let searchTimer = null;
$('filter').addEventListener('input', (e) => {
  state.filter = e.target.value.slice(0, 200);
  clearTimeout(searchTimer);
  searchTimer = setTimeout(firstPage, 150);
});
$('state-filter').addEventListener('change', (e) => {
  state.stateFilter = e.target.value;
  firstPage();
});
if (config.cluster) {
  $('filter').placeholder = 'client id, or its first characters';
  $('filter').title =
    'cluster mode: the clients of every node are in Redis, which is searched by client id (or its start) only';
}
for (const th of document.querySelectorAll('th[data-sort]')) {
  th.addEventListener('click', () => {
    const key = th.dataset.sort;
    state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
    // cluster mode: the rows of the page on screen, in that order (Redis keeps no order);
    // a single node: every client, from the first page
    if (config.cluster) requestView();
    else firstPage();
    render();
  });
}
$('prev').addEventListener('click', () => {
  if (state.back.length === 0) return;
  state.cursor = state.back.pop();
  requestView();
});
$('next').addEventListener('click', () => {
  if (state.pageInfo.next === null) return;
  state.back.push(state.cursor);
  state.cursor = state.pageInfo.next;
  requestView();
});
$('pause').addEventListener('click', () => {
  state.paused = !state.paused;
  setConnection(socket.connected ? 'live' : 'disconnected', socket.connected ? 'live' : '');
  render();
});
$('all-events').addEventListener('click', () => select(state.selected));
$('prune').addEventListener('click', () => {
  $('prune').disabled = true;
  socket.emit('prune', {}, (reply) => {
    $('prune').disabled = false;
    if (reply?.error) status(`prune failed: ${reply.error}`, 'error');
    else if (reply?.pruned) status(`prune: ${reply.pruned} client${reply.pruned === 1 ? '' : 's'} deleted`);
    else status('prune: nothing to prune (no client is past its deadline)');
  });
});
// the chart is drawn for its panel's width
new ResizeObserver(() => render()).observe($('chart'));
new ResizeObserver(() => render()).observe($('node-chart'));
// countdowns tick between updates
setInterval(renderTable, 250);
