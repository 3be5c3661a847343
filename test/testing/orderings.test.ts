import { describe, expect, it } from 'vitest';
import type { SupervisorHooks } from '../../src/index.js';
import { createTestSupervisor, hookOrderings, lifecyclePaths, type TestSupervisor } from '../../src/testing/index.js';

// hookOrderings(): paths at once, their async work released in many orders.

type User = { user: string };

/**
 * How many tabs each user has open, kept by async hooks. `lostUpdate` reads the count before its
 * await and writes it after: two tabs of one user connecting at once both read the same count.
 */
function tabCounter(pause: () => Promise<void>, { lostUpdate }: { lostUpdate: boolean }) {
  const tabs = new Map<string, number>();
  const change = async (user: string, by: number) => {
    if (lostUpdate) {
      const before = tabs.get(user) ?? 0;
      await pause(); // e.g. the round trip to a shared store
      tabs.set(user, before + by);
    } else {
      await pause();
      tabs.set(user, (tabs.get(user) ?? 0) + by);
    }
  };
  const hooks: SupervisorHooks<User> = {
    onConnect: (client) => change(client.data.user, 1),
    onDisconnect: (client) => change(client.data.user, -1),
    onDelete: async (client) => {
      // deleted while connected (no onDisconnect then): its view still names the socket it had
      if (client.state === 'deleted' && client.socketId !== null) await change(client.data.user, -1);
    },
  };
  const check = (t: TestSupervisor<User>) => {
    const connected = t.supervisor.list().filter((view) => view.state === 'connected').length;
    if ((tabs.get('ada') ?? 0) !== connected) {
      throw new Error(`ada has ${tabs.get('ada') ?? 0} tab(s) counted, ${connected} connected`);
    }
  };
  return { hooks, check };
}

const paths = lifecyclePaths<User>({ client: { data: { user: 'ada' } } });
const byName = (name: string) => paths.find((path) => path.name === `registers, ${name}, the server shuts down`)!;
const comesAndGoes = byName('connects, disconnects');
const stays = byName('connects');

describe('hookOrderings', () => {
  it('should find a lost update between two tabs of one user, naming both paths and the failure', async () => {
    const error = (await hookOrderings([comesAndGoes, stays], ({ pause }) => {
      const app = tabCounter(pause, { lostUpdate: true });
      return { options: { hooks: app.hooks }, check: app.check };
    }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(
      `hook orderings failed for\n  client 1: ${comesAndGoes.name}\n  client 2: ${stays.name}\nwith Error: ada has`,
    );
    // fast-check's report: the seed and path that replay it, and the order that broke it
    expect(error.message).toMatch(/seed: -?\d+, path: "[\d:]+"/);
    expect(error.message).toMatch(/promise::onConnect of client 1 resolved/);
  });

  it('should miss that bug on every path run alone: one client, its hooks in order', async () => {
    for (const path of paths) {
      const app = tabCounter(() => Promise.resolve(), { lostUpdate: true });
      await path.run(createTestSupervisor({ hooks: app.hooks }), app.check);
    }
  });

  it('should pass the app that updates after its await, under every ordering tried', async () => {
    const report = await hookOrderings(
      [comesAndGoes, stays, byName('connects, disconnects, reconnects')],
      ({ pause }) => {
        const app = tabCounter(pause, { lostUpdate: false });
        return { options: { hooks: app.hooks }, check: app.check };
      },
      { runs: 60 },
    );
    expect(report.runs).toBe(60);
  });

  it('should try different orders, yet never overlap one client’s hooks nor reorder them', async () => {
    const orders = new Set<string>();
    await hookOrderings(
      [comesAndGoes, comesAndGoes],
      ({ pause }) => {
        const started: { clientId: string; name: string }[] = [];
        const running = new Set<string>();
        const trace: Record<string, string[]> = {};
        const hook = (name: string) => async (client: { clientId: string }) => {
          if (running.has(client.clientId)) throw new Error(`${name} overlaps another hook of its client`);
          running.add(client.clientId);
          started.push({ clientId: client.clientId, name });
          trace[client.clientId] = [...(trace[client.clientId] ?? []), name];
          await pause();
          running.delete(client.clientId);
        };
        return {
          options: {
            hooks: { onConnect: hook('onConnect'), onDisconnect: hook('onDisconnect'), onDelete: hook('onDelete') },
          },
          check: (t) => {
            const clients = t.clients();
            if (clients.every((c) => c.state === 'deleted')) {
              for (const c of clients) expect(trace[c.clientId]).toEqual(['onConnect', 'onDisconnect', 'onDelete']);
            }
            // which client's hook started when (the clients' ids are new each run)
            const first = clients[0]!.clientId;
            orders.add(started.map((entry) => `${entry.clientId === first ? 1 : 2}.${entry.name}`).join(' '));
          },
        };
      },
      { runs: 40 },
    );
    expect(orders.size).toBeGreaterThan(1);
  });

  it('should replay the same orderings from the same seed', async () => {
    const run = () =>
      hookOrderings(
        [comesAndGoes, stays],
        ({ pause }) => {
          const app = tabCounter(pause, { lostUpdate: true });
          return { options: { hooks: app.hooks }, check: app.check };
        },
        { seed: 42 },
      ).catch((e: unknown) => (e as Error).message);
    const first = await run();
    expect(first).toMatch(/seed: 42/);
    expect(await run()).toBe(first);
  });

  it('should fail an ordering in which a hook fails', async () => {
    await expect(
      hookOrderings(stays, () => ({
        options: {
          hooks: {
            onDelete() {
              throw new Error('cleanup failed');
            },
          },
        },
      })),
    ).rejects.toThrow(/with HookFailedError: onDelete of client .* failed: cleanup failed/);
  });

  it('should take the hooks directly, or in options, never both', async () => {
    const hooks = { onConnect() {} };
    await expect(hookOrderings(stays, () => ({ hooks, options: { hooks } }))).rejects.toThrow(/not both/);
    const calls: string[] = [];
    await hookOrderings(stays, () => ({ hooks: { onConnect: () => void calls.push('onConnect') } }), { runs: 3 });
    expect(calls).toEqual(['onConnect', 'onConnect', 'onConnect']);
  });
});
