import { internalsOf } from '../src/core/internals.js';
import { createSupervisor } from '../src/index.js';

/**
 * The two registries the benchmarks compare, behind one small interface: the supervisor, and
 * what users write instead: a Map of clients with one setTimeout per deadline (the NiceGUI way),
 * doing the same bookkeeping (token check, socket binding, grace timer, delete hook).
 */
export interface Registry {
  /** How many times the delete hook ran (checked: exactly once per client). */
  deleted(): number;
  register(): string;
  handshake(clientId: string, socketId: string): void;
  disconnect(clientId: string, socketId: string): void;
  remove(clientId: string): void;
  size(): number;
  close(): Promise<void>;
}

export type RegistryKind = 'supervisor' | 'map';

export function createRegistry(kind: RegistryKind, grace = 600_000): Registry {
  return kind === 'supervisor' ? supervisorRegistry(grace) : mapRegistry(grace);
}

function supervisorRegistry(grace: number): Registry {
  let deleted = 0;
  const supervisor = createSupervisor({
    reconnectTimeout: grace,
    handshakeTimeout: grace,
    pruneInterval: 0,
    hooks: {
      onDelete: () => {
        deleted += 1;
      },
    },
  });
  const send = supervisor.actor.send;
  return {
    register: () => supervisor.register().clientId,
    handshake: (clientId, socketId) => send({ type: 'socket.handshake', clientId, socketId }),
    disconnect: (clientId, socketId) =>
      send({ type: 'socket.disconnect', clientId, socketId, reason: 'transport close' }),
    remove: (clientId) => void supervisor.delete(clientId),
    size: () => internalsOf(supervisor).store.size,
    deleted: () => deleted,
    close: () => supervisor.close(),
  };
}

interface MapClient {
  token: string;
  state: 'handshaking' | 'connected' | 'disconnected';
  socketId: string | null;
  timer: ReturnType<typeof setTimeout> | null;
  createdAt: number;
  disconnectedAt: number | null;
}

function mapRegistry(grace: number): Registry {
  const clients = new Map<string, MapClient>();
  let seq = 0;
  let deleted = 0;
  const onDelete = () => {
    deleted += 1;
  };
  function drop(clientId: string): void {
    const client = clients.get(clientId);
    if (!client) return;
    if (client.timer) clearTimeout(client.timer);
    clients.delete(clientId);
    onDelete();
  }
  return {
    register() {
      const clientId = `c${++seq}`;
      const timer = setTimeout(() => drop(clientId), grace);
      timer.unref();
      clients.set(clientId, {
        token: `t${seq}`,
        state: 'handshaking',
        socketId: null,
        timer,
        createdAt: Date.now(),
        disconnectedAt: null,
      });
      return clientId;
    },
    handshake(clientId, socketId) {
      const client = clients.get(clientId);
      if (!client) return;
      if (client.timer) clearTimeout(client.timer);
      client.timer = null;
      client.state = 'connected';
      client.socketId = socketId;
    },
    disconnect(clientId, socketId) {
      const client = clients.get(clientId);
      if (!client || client.socketId !== socketId) return;
      client.state = 'disconnected';
      client.socketId = null;
      client.disconnectedAt = Date.now();
      client.timer = setTimeout(() => drop(clientId), grace);
      client.timer.unref();
    },
    remove: drop,
    deleted: () => deleted,
    size: () => clients.size,
    async close() {
      for (const clientId of [...clients.keys()]) drop(clientId);
    },
  };
}
