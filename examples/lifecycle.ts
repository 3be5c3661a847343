// A small in-process example: one client's whole lifecycle, printed as it happens.
import { createSupervisor } from '../src/index.js';

const supervisor = createSupervisor({
  reconnectTimeout: 500,
  hooks: {
    onConnect: (client, { reconnect }) => console.log(`  hook onConnect (reconnect: ${reconnect})`, client.clientId),
    onDisconnect: (client, reason) => console.log('  hook onDisconnect', client.clientId, reason),
    onDelete: (client, reason) => console.log('  hook onDelete', client.clientId, reason),
  },
});
supervisor.events$.subscribe((event) => console.log(`event ${event.type}`, JSON.stringify(event)));

const { clientId } = supervisor.register({ tabId: 'tab-1' });
supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: 'socket-A' });
supervisor.actor.send({ type: 'socket.disconnect', clientId, socketId: 'socket-A', reason: 'transport close' });
supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: 'socket-B' });
supervisor.actor.send({ type: 'socket.disconnect', clientId, socketId: 'socket-A', reason: 'transport close' });
supervisor.actor.send({ type: 'socket.disconnect', clientId, socketId: 'socket-B', reason: 'ping timeout' });
console.log('waiting out the 500 ms grace period...');
await new Promise((resolve) => setTimeout(resolve, 600));
console.log('clients left:', supervisor.list().length, 'stats:', JSON.stringify(supervisor.stats()));
await supervisor.close();
