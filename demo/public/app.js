// The demo page: connects with the browser helper and shows what the supervisor thinks.

import { supervise } from '/client/index.js';
import { io } from '/socket.io/socket.io.esm.min.js';

const $ = (id) => document.getElementById(id);
const socket = io({ autoConnect: false, transports: ['websocket'] });
const client = supervise(socket, { credentials: window.__SUPERVISOR__ ?? undefined });
$('tab-id').textContent = client.tabId;
client.subscribe((state, { code, message }) => {
  $('client-id').textContent = client.clientId ?? '(none)';
  $('state').textContent = state;
  $('state').className = `state ${state}`;
  $('detail').textContent = code ? `(${code})` : '';
  // reload to recover: this page's credentials were rendered by the server, so once its client
  // is gone (a restart, an outage past the grace period, a delete) only a new page load helps
  $('gone').hidden = state !== 'deleted';
  $('gone-message').textContent = message ?? 'The server deleted this page’s client.';
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()}  ${state}${code ? ` ${code}` : ''}`;
  $('history').append(item);
});
$('reload').addEventListener('click', () => location.reload());
// messages addressed to this client, not to its socket: each arrives once and in order
client.on('note', (text) => {
  const item = document.createElement('li');
  item.textContent = text;
  $('notes').append(item);
});
// for the browser tests (and curious readers in the devtools console)
window.__demo = { socket, client };
socket.connect();

async function refresh() {
  try {
    const counts = await (await fetch('/counts')).json();
    $('counts').textContent =
      `${counts.connected} connected, ${counts.disconnected} disconnected, ${counts.handshaking} handshaking`;
  } catch {
    $('counts').textContent = 'server unreachable';
  }
}
setInterval(refresh, 1000);
refresh();
