import { createSupervisor, defaultOptions } from 'socket.io-supervisor';
import { internalsOf } from '../dist/core/internals.js';

/**
 * The two registries the benchmarks compare, behind one small interface: the supervisor, and
 * what users write instead: a Map of clients with one setTimeout per deadline (the NiceGUI way),
 * doing the same bookkeeping (token check, socket binding, grace timer, delete hook).
 */
export interface Registry {
  /** How many times the delete hook ran (checked: exactly once per client). */
  deleted(): number;
  /**
   * Resolves once the registry is at rest: for the supervisor, once every idle client has been
   * passivated (after the default `passivateAfter`, as on a server whose clients went quiet).
   */
  idle(): Promise<void>;
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
  // what the socket.io adapter does: each socket event straight to its client's actor
  const { send } = supervisor;
  const { host, store } = internalsOf(supervisor);
  return {
    register: () => supervisor.register().clientId,
    handshake: (clientId, socketId) => send({ type: 'socket.handshake', clientId, socketId }),
    disconnect: (clientId, socketId) =>
      send({ type: 'socket.disconnect', clientId, socketId, reason: 'transport close' }),
    remove: (clientId) => void supervisor.delete(clientId),
    size: () => store.size,
    deleted: () => deleted,
    async idle() {
      // the host timer passivates idle clients passivateAfter after their last event
      await new Promise((resolve) => setTimeout(resolve, Number(defaultOptions.passivateAfter)));
      for (let waited = 0; host.activeCount() > 0 && waited < 60_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
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
    idle: async () => {},
    size: () => clients.size,
    async close() {
      for (const clientId of [...clients.keys()]) drop(clientId);
    },
  };
}
