// A single-page app: no server-rendered credentials. The server auto-registers a client for the
// first socket and hands its credentials to the helper, which resumes with them on reconnect.

import { io } from '/socket.io/socket.io.esm.min.js';
import { supervise } from '/vendor/socket.io-supervisor/index.js';

const $ = (id) => document.getElementById(id);
const socket = io({ autoConnect: false, transports: ['websocket'] });
const client = supervise(socket);
client.subscribe((state, { code }) => {
  $('state').textContent = state;
  $('detail').textContent = code ?? '';
  $('client').textContent = client.clientId ?? '…';
  // after a restart or a long outage the helper comes back as a new client by itself (the
  // server auto-registers): the per-client count starts again
  if (state === 'deleted') $('count').textContent = '0';
});
socket.on('count', (count) => {
  $('count').textContent = String(count);
});
$('increment').addEventListener('click', () => socket.emit('increment'));
socket.connect();
