// The inspector page. Plain ES module: socket.io's own client bundle, no framework, no CDN.
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
  clients: new Map(),
  since: new Map(), // clientId -> when it entered its current state (server clock)
  history: new Map(), // clientId -> its recent events
  log: [],
  counts: { handshaking: 0, connected: 0, disconnected: 0, total: 0 },
  stats: { ignored: {}, deleted: {}, rejected: {}, hookErrors: 0 },
  chart: null,
  clockOffset: 0,
  selected: null,
  paused: false,
  filter: '',
  sort: { key: 'createdAt', asc: false },
  page: 0,
};
const serverNow = () => Date.now() + state.clockOffset;

const token = new URLSearchParams(location.search).get('token') ?? undefined;
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

function remember(event) {
  const list = state.history.get(event.clientId) ?? [];
  list.push(event);
  if (list.length > 100) list.shift();
  state.history.set(event.clientId, list);
  if (['registered', 'connected', 'reconnected', 'disconnected'].includes(event.type))
    state.since.set(event.clientId, event.at);
}

socket.on('snapshot', (snap) => {
  state.clockOffset = snap.serverNow - Date.now();
  state.clients = new Map(snap.clients.map((c) => [c.clientId, c]));
  for (const c of snap.clients)
    if (!state.since.has(c.clientId)) state.since.set(c.clientId, c.disconnectedAt ?? c.connectedAt ?? c.createdAt);
  state.counts = snap.counts;
  state.stats = snap.stats;
  state.chart = snap.chart;
  state.log = snap.recent.slice(-LOG_SIZE);
  for (const event of snap.recent) remember(event);
  $('prune').hidden = !snap.allowWrites;
  render();
});

socket.on('update', (update) => {
  state.clockOffset = update.serverNow - Date.now();
  for (const view of update.changed) state.clients.set(view.clientId, view);
  for (const id of update.removed) state.clients.delete(id);
  state.counts = update.counts;
  state.stats = update.stats;
  for (const event of update.events) remember(event);
  if (!state.paused) {
    state.log.push(...update.events);
    if (update.dropped) state.log.push({ type: 'dropped', clientId: '', at: update.serverNow, count: update.dropped });
    if (state.log.length > LOG_SIZE) state.log.splice(0, state.log.length - LOG_SIZE);
  }
  render();
});

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
    counter('deleted by reason', Object.entries(stats.deleted)),
    counter('ignored by why', Object.entries(stats.ignored)),
    counter('rejected by code', Object.entries(stats.rejected)),
    counter('hook errors', [['total', stats.hookErrors]]),
  );
}

// ------------------------------------------------------------------ clients table
const seconds = (ms) =>
  ms < 0 ? '0.0 s' : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min`;
function sortValue(c, key) {
  if (key === 'since') return state.since.get(c.clientId) ?? 0;
  if (key === 'expiresAt') return c.expiresAt ?? Number.POSITIVE_INFINITY;
  return c[key] ?? '';
}
function visibleClients() {
  const f = state.filter.toLowerCase();
  const list = [...state.clients.values()].filter(
    (c) => !f || [c.clientId, c.state, c.socketId ?? '', c.tabId ?? ''].some((v) => v.toLowerCase().includes(f)),
  );
  const { key, asc } = state.sort;
  list.sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
  });
  return list;
}
const rowCache = new Map(); // clientId -> { tr, cells, keys }: one <tr> per client, reused
function tableRow(clientId) {
  let row = rowCache.get(clientId);
  if (row) return row;
  const cells = Array.from({ length: 8 }, () => el('td'));
  cells[0].append(el('code', {}, clientId));
  if (config.allowWrites) {
    cells[7].append(
      el(
        'button',
        {
          type: 'button',
          class: 'danger',
          onclick: (e) => {
            e.stopPropagation();
            socket.emit('delete', { clientId }, () => {});
          },
        },
        'delete',
      ),
    );
  }
  const tr = el('tr', { 'data-client': clientId }, ...cells);
  row = { tr, cells, keys: [] };
  rowCache.set(clientId, row);
  return row;
}
function setCell(row, index, key, build) {
  if (row.keys[index] === key) return;
  row.keys[index] = key;
  row.cells[index].replaceChildren(build(key));
}
function renderTable() {
  const list = visibleClients();
  const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const now = serverNow();
  const visible = list.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  const rows = visible.map((c) => {
    const row = tableRow(c.clientId);
    row.tr.className = c.clientId === state.selected ? 'selected' : '';
    setCell(row, 1, c.state, () => el('span', { class: `state ${c.state}` }, c.state));
    setCell(row, 2, c.socketId ?? '', () => el('code', {}, c.socketId ?? '—'));
    setCell(row, 3, c.tabId ?? '', () => c.tabId ?? '—');
    setCell(row, 4, seconds(now - c.createdAt), (text) => text);
    setCell(row, 5, seconds(now - (state.since.get(c.clientId) ?? c.createdAt)), (text) => text);
    setCell(row, 6, c.expiresAt ? seconds(c.expiresAt - now) : '', (text) =>
      text ? el('span', { class: 'countdown' }, text) : '',
    );
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
  $('client-count').textContent = `${list.length} of ${state.clients.size}`;
  $('page').textContent = `${state.page + 1} / ${pages}`;
  for (const th of document.querySelectorAll('th[data-sort]')) {
    th.className = th.dataset.sort === state.sort.key ? `sorted ${state.sort.asc ? 'asc' : ''}` : '';
  }
}

// ------------------------------------------------------------------ statechart (from the machine)
function renderChart() {
  const chart = state.chart;
  if (!chart) return;
  const current = state.selected ? (state.clients.get(state.selected)?.state ?? 'deleted') : null;
  // states on a clockwise ring of two columns, in the order the machine defines them
  const W = 720;
  const boxW = 175;
  const lines = Math.max(...chart.states.map((s) => s.ignores.length));
  const boxH = 30 + lines * 12;
  const rows = Math.ceil(chart.states.length / 2);
  const rowGap = 150;
  const H = 40 + rows * boxH + (rows - 1) * rowGap + 40;
  const slot = (i) => {
    const row = Math.floor(i / 2);
    const col = row % 2 === 0 ? i % 2 : 1 - (i % 2);
    // the right column leaves room for the labels of the edges beside it
    return { x: col === 0 ? 20 : W - 150 - boxW, y: 30 + row * (boxH + rowGap) };
  };
  const pos = new Map(chart.states.map((s, i) => [s.id, slot(i)]));
  const center = (id) => ({ x: pos.get(id).x + boxW / 2, y: pos.get(id).y + boxH / 2 });
  // the point where the segment from a box's center towards `to` leaves the box
  const exit = (id, to) => {
    const c = center(id);
    const dx = to.x - c.x;
    const dy = to.y - c.y;
    const t = Math.min(Math.abs(boxW / 2 / (dx || 1e-9)), Math.abs(boxH / 2 / (dy || 1e-9)));
    return { x: c.x + dx * t, y: c.y + dy * t };
  };
  const groups = new Map();
  const selfLoops = new Map();
  for (const t of chart.transitions) {
    const label = t.timer ? `timer: ${t.timer}` : `${t.event}${t.guard ? ` [${t.guard}]` : ''}`;
    if (t.from === t.to) selfLoops.set(t.from, [...(selfLoops.get(t.from) ?? []), label]);
    else groups.set(`${t.from}>${t.to}`, [...(groups.get(`${t.from}>${t.to}`) ?? []), label]);
  }
  const parts = [
    `<svg viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg" font-size="10.5" font-family="system-ui, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#56607a"/></marker></defs>',
  ];
  for (const [key, labels] of groups) {
    const [from, to] = key.split('>');
    const a = center(from);
    const b = center(to);
    // a pair of opposite edges is drawn side by side, each shifted to its right
    const paired = groups.has(`${to}>${from}`);
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const nx = (-(b.y - a.y) / len) * (paired ? 14 : 0);
    const ny = ((b.x - a.x) / len) * (paired ? 14 : 0);
    const p1 = exit(from, { x: b.x + nx, y: b.y + ny });
    const p2 = exit(to, { x: a.x + nx, y: a.y + ny });
    parts.push(
      `<line x1="${p1.x + nx}" y1="${p1.y + ny}" x2="${p2.x + nx}" y2="${p2.y + ny}" stroke="#8a93a8" stroke-width="1.3" marker-end="url(#arrow)"/>`,
    );
    const vertical = Math.abs(b.x - a.x) < 1;
    const diagonal = !vertical && Math.abs(b.y - a.y) > 1;
    // a diagonal edge is labelled a third of the way along, clear of the vertical edges' labels
    const f = diagonal ? 0.3 : 0.5;
    const mx = p1.x + (p2.x - p1.x) * f + nx * 2.2;
    const my = p1.y + (p2.y - p1.y) * f + ny * 2.2;
    // labels of vertical edges go on the side facing the middle of the drawing
    const inward = mx < W / 2 - 60 ? 1 : -1;
    const side = vertical ? (paired ? Math.sign(nx) || inward : inward) : 0;
    const anchor = side > 0 ? 'start' : side < 0 ? 'end' : 'middle';
    labels.forEach((label, i) => {
      const y = my + (i - (labels.length - 1) / 2) * 12 + (vertical ? 0 : -4);
      const lx = vertical ? (paired ? (p1.x + p2.x) / 2 + nx + side * 6 : mx + side * 6) : mx;
      parts.push(
        `<text x="${lx}" y="${y}" text-anchor="${anchor}" fill="#3c4458" paint-order="stroke" stroke="#fff" stroke-width="3">${escapeXml(label)}</text>`,
      );
    });
  }
  chart.states.forEach((s) => {
    const { x, y } = pos.get(s.id);
    const active = s.id === current;
    const color = getComputedStyle(document.documentElement).getPropertyValue(`--${s.id}`).trim() || '#56607a';
    parts.push(
      `<rect x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="8" fill="${active ? color : '#fff'}" stroke="${color}" stroke-width="${active ? 3 : 1.5}"/>`,
    );
    if (s.final)
      parts.push(
        `<rect x="${x + 3}" y="${y + 3}" width="${boxW - 6}" height="${boxH - 6}" rx="6" fill="none" stroke="${active ? '#fff' : color}"/>`,
      );
    parts.push(
      `<text x="${x + boxW / 2}" y="${y + 17}" text-anchor="middle" font-weight="700" font-size="12" fill="${active ? '#fff' : color}">${s.id}${s.initial ? ' (initial)' : ''}${s.final ? ' (final)' : ''}</text>`,
    );
    s.ignores.forEach((ig, j) => {
      const short = ig.event.replace(/^(socket|client)\./, '');
      parts.push(
        `<text x="${x + 8}" y="${y + 31 + j * 12}" font-size="9.5" fill="${active ? '#fff' : '#6b7385'}">${escapeXml(`${short}: ignored (${ig.why})`)}</text>`,
      );
    });
    const loops = selfLoops.get(s.id);
    if (loops) {
      parts.push(
        `<text x="${x + boxW / 2}" y="${y - 6}" text-anchor="middle" fill="#3c4458">↻ ${escapeXml(loops.join(', '))} (socket swap)</text>`,
      );
    }
  });
  parts.push(
    `<text x="10" y="${H - 8}" fill="#6b7385" font-size="10">drawn from the client machine's definition; inside each state: the events it ignores and why</text>`,
  );
  parts.push('</svg>');
  $('chart').innerHTML = parts.join('');
  $('selected-label').textContent = state.selected ? `${state.selected} · ${current}` : 'select a client';
}
function escapeXml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

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
        el('span', { class: 't' }, `${new Date(e.at).toISOString().slice(11, 23)} `),
        state.selected ? '' : el('code', {}, `${(e.clientId || '—').slice(0, 8)} `),
        describe(e),
      ),
    );
  $('log').replaceChildren(...items);
  $('log-scope').textContent = state.selected ? `client ${state.selected.slice(0, 8)}…` : 'all clients';
  $('all-events').hidden = !state.selected;
  $('pause').textContent = state.paused ? 'resume' : 'pause';
}

function select(clientId) {
  state.selected = state.selected === clientId ? null : clientId;
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
    renderLog();
  });
}

// ------------------------------------------------------------------ controls
$('rows').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-client]');
  if (tr) select(tr.dataset.client);
});
$('filter').addEventListener('input', (e) => {
  state.filter = e.target.value;
  state.page = 0;
  render();
});
for (const th of document.querySelectorAll('th[data-sort]')) {
  th.addEventListener('click', () => {
    const key = th.dataset.sort;
    state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
    render();
  });
}
$('prev').addEventListener('click', () => {
  state.page = Math.max(0, state.page - 1);
  render();
});
$('next').addEventListener('click', () => {
  state.page += 1;
  render();
});
$('pause').addEventListener('click', () => {
  state.paused = !state.paused;
  setConnection(socket.connected ? 'live' : 'disconnected', socket.connected ? 'live' : '');
  render();
});
$('all-events').addEventListener('click', () => select(state.selected));
$('prune').addEventListener('click', () => socket.emit('prune', {}, () => {}));
// countdowns tick between updates
setInterval(renderTable, 250);
