// The page's script: the browser helper, served from the package's dist/client directory.

import { io } from '/socket.io/socket.io.esm.min.js';
import { supervise } from '/vendor/socket.io-supervisor/index.js';

const $ = (id) => document.getElementById(id);
// the supervised namespace only: the rest of the app's sockets are left as they were
const socket = io('/live', { autoConnect: false, transports: ['websocket'] });
const client = supervise(socket, { credentials: window.__SUPERVISOR__ });
client.subscribe((state, { code, message }) => {
  $('state').textContent = state;
  $('detail').textContent = code ?? '';
  // reload to recover: the credentials came with this page, so once its client is gone (a
  // restart, an outage past the grace period) a new page load is how to get a new one
  $('gone').hidden = state !== 'deleted';
  $('gone-message').textContent = message ?? 'This page lost its connection to the server.';
});
$('reload').addEventListener('click', () => location.reload());
$('add').addEventListener('click', async () => {
  const cart = await socket.emitWithAck('cart:add', { item: `item-${Date.now() % 1000}` });
  $('cart').textContent = cart.items.join(', ');
});
socket.connect();
