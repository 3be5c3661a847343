// Testing an app's hooks with socket.io-supervisor/testing: a small chat room whose hooks keep
// its member list, run over every path of the lifecycle, under interleaved async hooks, and
// a broken version of it caught on exactly the paths that should catch it.
// In your app: import { ... } from 'socket.io-supervisor/testing';
import { describe, expect, it } from 'vitest';
import type { SupervisorHooks } from '../src/index.js';
import {
  createTestSupervisor,
  hookOrderings,
  LifecyclePathError,
  lifecyclePaths,
  type TestSupervisor,
} from '../src/testing/index.js';

type Member = { user: string };

/**
 * The chat room: who is in it (a member per connected client) and what it announced. `pause` is
 * where a real app would wait on its store; in tests it is a resolved promise, or the ordering's.
 */
function createChatRoom({ pause = () => Promise.resolve() } = {}) {
  const members = new Map<string, string>();
  const announced: string[] = [];
  const hooks: SupervisorHooks<Member> = {
    async onConnect(client, { reconnect }) {
      await pause();
      members.set(client.clientId, client.data.user);
      announced.push(reconnect ? `${client.data.user} is back` : `${client.data.user} joined`);
    },
    async onDisconnect(client) {
      await pause();
      members.delete(client.clientId);
    },
    async onDelete(client, reason) {
      await pause();
      // a client can be deleted while connected (no onDisconnect then) or before it ever connected
      members.delete(client.clientId);
      announced.push(`${client.data.user} left (${reason})`);
    },
  };
  return { hooks, members, announced };
}

/** The same room as it is often first written: the reconnect branch only announces the return. */
function createBrokenChatRoom() {
  const room = createChatRoom();
  room.hooks.onConnect = async (client, { reconnect }) => {
    if (reconnect) {
      room.announced.push(`${client.data.user} is back`);
      return; // the member was removed on disconnect and is never added back
    }
    room.members.set(client.clientId, client.data.user);
    room.announced.push(`${client.data.user} joined`);
  };
  return room;
}

/** The room's invariant: its members are exactly the connected clients. */
function membersAreTheConnectedClients(room: { members: Map<string, string> }, t: TestSupervisor<Member>): void {
  const connected = t.supervisor.list().filter((client) => client.state === 'connected');
  expect([...room.members.keys()].sort()).toEqual(connected.map((client) => client.clientId).sort());
}

const paths = lifecyclePaths<Member>({ client: { data: { user: 'ada' } } });

describe('the chat room', () => {
  it('should let a dropped member go once the reconnect grace period is over', async () => {
    const room = createChatRoom();
    const t = createTestSupervisor({ hooks: room.hooks, reconnectTimeout: 3000 });
    const ada = t.client({ data: { user: 'ada' } });
    ada.connect();
    await t.settle();
    expect([...room.members.values()]).toEqual(['ada']);
    ada.disconnect();
    await t.advance(3000); // the deadline fires, onDelete runs
    expect(room.members.size).toBe(0);
    expect(room.announced).toEqual(['ada joined', 'ada left (reconnect-timeout)']);
  });

  it.each(paths.map((path) => [path.name, path] as const))('%s', async (_name, path) => {
    const room = createChatRoom();
    await path.run(createTestSupervisor({ hooks: room.hooks }), (t) => membersAreTheConnectedClients(room, t));
  });

  it('should keep its members right for two users whose hooks interleave', async () => {
    const back = paths.find((path) => path.name.startsWith('registers, connects, disconnects, reconnects'))!;
    const gone = paths.find((path) => path.name.startsWith('registers, connects, is deleted while connected'))!;
    await hookOrderings([back, gone], ({ pause }) => {
      const room = createChatRoom({ pause });
      return { hooks: room.hooks, check: (t) => membersAreTheConnectedClients(room, t) };
    });
  });
});

describe('the broken chat room', () => {
  it('should be caught on the one library path where a client reconnects, at the reconnect', async () => {
    const caught = await caughtBy(paths, createBrokenChatRoom);
    expect(caught).toEqual(['registers, connects, disconnects, reconnects, the server shuts down']);
  });

  it('should be caught on exactly the paths of up to 4 steps where a client reconnects', async () => {
    const longer = lifecyclePaths<Member>({ client: { data: { user: 'ada' } }, maxSteps: 4 });
    const caught = await caughtBy(longer, createBrokenChatRoom);
    const reconnecting = longer.filter((path) => path.cells.includes('disconnected × socket.handshake'));
    expect(caught).toEqual(reconnecting.map((path) => path.name));
    expect(caught).toHaveLength(15);
    expect(caught).toContain(
      'registers, connects, disconnects, reconnects, is deleted while connected, the server shuts down',
    );
  });
});

/** The paths on which a room fails its invariant; each must fail right after a reconnect. */
async function caughtBy(
  list: typeof paths,
  createRoom: () => { hooks: SupervisorHooks<Member>; members: Map<string, string> },
): Promise<string[]> {
  const caught: string[] = [];
  for (const path of list) {
    const room = createRoom();
    const t = createTestSupervisor({ hooks: room.hooks });
    await path
      .run(t, (t) => membersAreTheConnectedClients(room, t))
      .catch((error: unknown) => {
        if (!(error instanceof LifecyclePathError)) throw error;
        expect(error.story).toBe('reconnects');
        caught.push(path.name);
      });
  }
  return caught;
}
