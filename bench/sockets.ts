import { io as connectClient, type Socket } from 'socket.io-client';

/**
 * One page's socket over websocket, as the benches open them: no reconnection, its own
 * connection. Pushed onto `sockets` (the bench closes them) before it connects; resolves at
 * `connect`, rejects at `connect_error`.
 */
export function connectSocket(url: string, auth: object, sockets: Socket[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectClient(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
