// The demo page: connects with the browser helper and shows what the supervisor thinks.

import { supervise } from '/client/index.js';
import { io } from '/socket.io/socket.io.esm.min.js';

const $ = (id) => document.getElementById(id);
const socket = io({ autoConnect: false, transports: ['websocket'] });
const client = supervise(socket, { credentials: window.__SUPERVISOR__ ?? undefined });
$('tab-id').textContent = client.tabId;
client.subscribe((state, { code }) => {
  $('client-id').textContent = client.clientId ?? '(none)';
  $('state').textContent = state;
  $('state').className = `state ${state}`;
  $('detail').textContent = code ? `(${code})` : '';
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()}  ${state}${code ? ` ${code}` : ''}`;
  $('history').append(item);
});
socket.connect();

async function refresh() {
  try {
    const { counts, clients } = await (await fetch('/supervisor/clients')).json();
    $('counts').textContent =
      `${counts.connected} connected, ${counts.disconnected} disconnected, ${counts.handshaking} handshaking`;
    $('clients').replaceChildren(
      ...clients.map((c) => {
        const row = document.createElement('tr');
        const left = c.expiresAt ? `${Math.max(0, (c.expiresAt - Date.now()) / 1000).toFixed(1)} s` : '';
        for (const text of [
          c.clientId === client.clientId ? `${c.clientId} (this page)` : c.clientId,
          c.state,
          c.tabId ?? '',
          left,
        ]) {
          const cell = document.createElement('td');
          cell.textContent = text;
          row.append(cell);
        }
        return row;
      }),
    );
  } catch {
    $('counts').textContent = 'server unreachable';
  }
}
setInterval(refresh, 500);
refresh();
