import type { Scheduler } from 'fast-check';
import { internalsOf } from '../core/internals.js';
import type { ClientView, SupervisorHooks } from '../core/types.js';
import {
  createTestSupervisor,
  HookFailedError,
  type TestClient,
  type TestSupervisor,
  type TestSupervisorOptions,
} from './createTestSupervisor.js';
import { type LifecyclePath, performStep, type StepTiming } from './lifecyclePaths.js';

/** What {@link hookOrderings} hands the app it builds for each ordering. */
export interface OrderingTools {
  /**
   * Resolves when the ordering says so. Await it at the app's own async points (a database call,
   * a broadcast) so the ordering interleaves them too: `await pause()` where the app would
   * `await db.save()` in production.
   */
  pause(): Promise<void>;
}

/** The app under test in one ordering, built fresh for each. */
export interface OrderingApp<TData> {
  /** The app's hooks. */
  hooks?: SupervisorHooks<TData>;
  /** The test supervisor's other options (or the hooks, in their place). */
  options?: TestSupervisorOptions<TData>;
  /**
   * The app's invariant, checked once every step has been taken and every hook has settled, and
   * again after `close()`.
   */
  check?(t: TestSupervisor<TData>): void | Promise<void>;
}

/** Options of {@link hookOrderings}. */
export interface HookOrderingsOptions {
  /** How many orderings to try. @default 100 */
  runs?: number;
  /** fast-check's seed: with `path`, replays a failure it reported. */
  seed?: number;
  /** fast-check's path of a failure it reported. */
  path?: string;
}

/** What {@link hookOrderings} ran. */
export interface HookOrderingsReport {
  /** How many orderings were tried. */
  runs: number;
  /** The seed fast-check used. */
  seed: number | undefined;
}

// the largest delay setTimeout honours (the supervisor refuses larger ones)
const NO_HOOK_TIMEOUT = 2 ** 31 - 1;

/**
 * Runs lifecycle paths at once, one client each, under many orderings of their async work, chosen
 * by fast-check's scheduler: the steps of different clients interleave, each hook starts when the
 * ordering says (the supervisor still runs one client's hooks one after another, in lifecycle
 * order), and so does every `pause()` the app awaits. With one client its hooks are serial
 * anyway: the orderings find what the clients' hooks do to state they share (a member list kept
 * per user, a counter read before an `await` and written after it).
 *
 * Time moves only as the paths' timeouts and late prunes move it, and does not wait for hooks;
 * hooks do not time out unless `options.hookTimeout` is given. Each ordering builds its app
 * afresh with `setup`, then checks that no hook failed, the app's `check`, and that `onDelete`
 * ran exactly once and last for every client. Rejects with fast-check's report of the first
 * failing ordering (its seed and path replay it).
 *
 * Needs `fast-check` (an optional peer dependency of this entry).
 *
 * @example
 * await hookOrderings([twoTabs, twoTabs], ({ pause }) => {
 *   const app = createChatRoom({ pause });
 *   return { hooks: app.hooks, check: (t) => app.checkOnline(t) };
 * });
 */
export async function hookOrderings<TData = unknown>(
  paths: LifecyclePath<TData> | readonly LifecyclePath<TData>[],
  setup: (tools: OrderingTools) => OrderingApp<TData>,
  options: HookOrderingsOptions = {},
): Promise<HookOrderingsReport> {
  const list: readonly LifecyclePath<TData>[] = Array.isArray(paths) ? paths : [paths as LifecyclePath<TData>];
  if (list.length === 0) throw new TypeError('socket.io-supervisor/testing: hookOrderings() needs at least one path');
  const fc = await loadFastCheck();
  const { runs = 100, seed, path } = options;
  let tried = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (scheduler) => {
        tried += 1;
        await runOrdering(list, setup, scheduler);
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }) },
    );
  } catch (error) {
    const names = list.map((p, i) => `  client ${i + 1}: ${p.name}`).join('\n');
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    const report = error instanceof Error ? error.message : String(error);
    const failed = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new Error(`hook orderings failed for\n${names}\nwith ${failed}\n${report}`, { cause });
  }
  return { runs: tried, seed };
}

async function loadFastCheck(): Promise<typeof import('fast-check')> {
  try {
    return await import('fast-check');
  } catch (error) {
    throw new Error(
      'socket.io-supervisor/testing: hookOrderings() needs fast-check: npm install --save-dev fast-check',
      {
        cause: error,
      },
    );
  }
}

async function runOrdering<TData>(
  paths: readonly LifecyclePath<TData>[],
  setup: (tools: OrderingTools) => OrderingApp<TData>,
  scheduler: Scheduler,
): Promise<void> {
  let poked = false;
  let wake: (() => void) | null = null;
  /** Something may have changed for the drain: a task was scheduled or a hook settled. */
  const poke = () => {
    poked = true;
    wake?.();
  };
  const schedule = (label: string): Promise<void> => {
    const task = scheduler.schedule(Promise.resolve(), label);
    poke();
    return task;
  };

  const app = setup({ pause: () => schedule('pause') });
  if (app.hooks && app.options?.hooks) {
    throw new TypeError('socket.io-supervisor/testing: give hookOrderings the hooks or options.hooks, not both');
  }
  const appOptions: TestSupervisorOptions<TData> = { ...app.options, ...(app.hooks ? { hooks: app.hooks } : {}) };
  const names = new Map<string, string>();
  const nameOf = (client: ClientView<TData>) => names.get(client.clientId) ?? client.clientId;
  const t = createTestSupervisor<TData>({
    hookTimeout: NO_HOOK_TIMEOUT,
    ...appOptions,
    hooks: gateHooks(appOptions.hooks ?? {}, (hook, client) => schedule(`${hook} of ${nameOf(client)}`)),
  });
  const internals = internalsOf(t.supervisor);
  const stopListening = internals.onHookSettled(poke);

  /** Releases scheduled tasks until nothing is scheduled and no hook is running. */
  async function drain(until?: () => boolean): Promise<void> {
    for (;;) {
      poked = false;
      if (scheduler.count() > 0) await scheduler.waitIdle();
      // a hook is invoked a few promise jobs after the step that queued it
      for (let round = 0; round < 20 && scheduler.count() === 0; round += 1) await Promise.resolve();
      if (scheduler.count() > 0) continue;
      if (internals.pendingHooks() === 0 && (until?.() ?? true)) return;
      // a hook waits on something outside the scheduler (I/O): wait for news rather than spin
      if (!poked) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    }
  }

  const timing: StepTiming = {
    // the clock moves and timers fire without waiting for hooks: they run when the ordering says
    advance(ms) {
      const until = t.now() + ms;
      while (t.clock.fireNext(until));
      t.clock.set(until);
    },
  };

  try {
    const clients: TestClient<TData>[] = paths.map((path, i) => {
      const client = t.client(path.registration);
      names.set(client.clientId, `client ${i + 1}`);
      return client;
    });
    const failures: unknown[] = [];
    for (const [i, path] of paths.entries()) {
      scheduler.scheduleSequence(
        path.steps.map((step) => ({
          label: `client ${i + 1} ${step.story}`,
          builder: async () => {
            try {
              await performStep(t, clients[i]!, step, timing);
            } catch (error) {
              failures.push(error);
              throw error;
            }
          },
        })),
      );
    }
    await drain();
    if (failures.length > 0) throw failures[0];
    throwHookErrors(t, appOptions);
    await app.check?.(t);

    let closed = false;
    const closing = t.close().finally(() => {
      closed = true;
      poke();
    });
    // keep the promise observed while the drain releases the shutdown's onDelete hooks
    closing.catch(() => {});
    await drain(() => closed);
    await closing;
    await app.check?.(t);
    for (const client of clients) {
      const deletes = client.hookCalls.filter((call) => call.hook === 'onDelete').length;
      if (deletes !== 1 || client.hookCalls.at(-1)?.hook !== 'onDelete') {
        throw new Error(`${names.get(client.clientId)}: onDelete must run exactly once and last`);
      }
    }
  } finally {
    stopListening();
  }
}

function throwHookErrors<TData>(t: TestSupervisor<TData>, options: TestSupervisorOptions<TData>): void {
  if (options.hookErrors === 'record' || t.hookErrors.length === 0) return;
  const [first, ...others] = t.hookErrors;
  throw new HookFailedError(first!, others);
}

/** The app's hooks, each started only when `gate` resolves. */
function gateHooks<TData>(
  hooks: SupervisorHooks<TData>,
  gate: (hook: string, client: ClientView<TData>) => Promise<void>,
): SupervisorHooks<TData> {
  const gated: SupervisorHooks<TData> = {};
  const { onConnect, onDisconnect, onDelete, onAcquire, onRelease } = hooks;
  // the ownership hooks are not reordered: they run as the app wrote them
  if (onAcquire) gated.onAcquire = (client, ctx) => onAcquire.call(hooks, client, ctx);
  if (onRelease) gated.onRelease = (client, ctx, why) => onRelease.call(hooks, client, ctx, why);
  if (onConnect)
    gated.onConnect = (client, ctx) => gate('onConnect', client).then(() => onConnect.call(hooks, client, ctx));
  if (onDisconnect) {
    gated.onDisconnect = (client, reason) =>
      gate('onDisconnect', client).then(() => onDisconnect.call(hooks, client, reason));
  }
  if (onDelete)
    gated.onDelete = (client, reason) => gate('onDelete', client).then(() => onDelete.call(hooks, client, reason));
  return gated;
}
