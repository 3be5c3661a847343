import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { connected } from './procs/cluster.js';

// The multi-process harness (procs/): what the soak's browsers rely on.
describe('connected() (procs/cluster.ts)', () => {
  // The soak hung (its browsers awaited forever) when a node was killed or closed between the
  // transport's open and its answer to the handshake: socket.io-client emits `disconnect` then.
  it('should reject when the connection closes before the handshake is answered', async () => {
    const http = createServer();
    const io = new Server(http);
    let arrived!: () => void;
    const handshaking = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    // a handshake that is never answered (a claim in flight on a node about to die)
    io.use(() => arrived());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const socket = connectClient(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    try {
      const outcome = connected(socket).then(
        () => 'connected',
        (error: { code?: string }) => error.code,
      );
      await handshaking;
      // the node goes away under it
      await new Promise<void>((resolve) => io.close(() => resolve()));
      expect(await outcome).toBe('DISCONNECTED');
    } finally {
      socket.disconnect();
    }
  });
});
