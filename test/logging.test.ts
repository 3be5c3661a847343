import pino from 'pino';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createSupervisor, type Logger } from '../src/index.js';
import { type Harness, once, startHarness } from './helpers/io.js';

/** A pino logger writing JSON lines into an array (pino's own serializers, levels and bindings). */
function pinoLines(level: pino.LevelWithSilent = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the logger', () => {
  it('should accept a pino instance as it is', () => {
    expectTypeOf(pino()).toMatchTypeOf<Logger>();
    expectTypeOf(pino().child({ a: 1 })).toMatchTypeOf<Logger>();
    // the option too, at runtime (validated: four levels and a child function)
    const { logger } = pinoLines();
    expect(() => createSupervisor({ logger }).close()).not.toThrow();
  });

  it('should refuse a logger without info() or error(), naming the option', () => {
    const old = { debug() {}, warn() {} } as unknown as Logger;
    expect(() => createSupervisor({ logger: old })).toThrow(
      /option `logger` must have debug\(\), info\(\), warn\(\) and error\(\)/,
    );
    const badChild = { debug() {}, info() {}, warn() {}, error() {}, child: 1 } as unknown as Logger;
    expect(() => createSupervisor({ logger: badChild })).toThrow(/child must be a function/);
  });

  it('should log a hook that throws at error, with its error, stack, clientId, hook and the lib binding', async () => {
    const { logger, lines } = pinoLines();
    function failingConnectHook(): never {
      throw new Error('database down');
    }
    h = await startHarness({ logger, hooks: { onConnect: failingConnectHook } });
    const { clientId, token } = h.supervisor.register();
    const failed = h.next((event) => event.type === 'hook-error');
    await once(h.connect({ clientId, token }), 'connect');
    await failed;
    const line = lines.find((entry) => entry.hook === 'onConnect');
    expect(line).toMatchObject({
      level: 50, // pino's error
      lib: 'socket.io-supervisor',
      clientId,
      hook: 'onConnect',
      timedOut: false,
      err: { type: 'Error', message: 'database down' },
    });
    // the stack names the hook's own function: where to look
    expect((line!.err as { stack: string }).stack).toContain('failingConnectHook');
  });

  it('should log a hook that timed out with timedOut: true and its HookTimeoutError', async () => {
    const { logger, lines } = pinoLines();
    h = await startHarness({ logger, hookTimeout: 50, hooks: { onConnect: () => new Promise(() => {}) } });
    const { clientId, token } = h.supervisor.register();
    const failed = h.next((event) => event.type === 'hook-error');
    await once(h.connect({ clientId, token }), 'connect');
    await failed;
    expect(lines.find((entry) => entry.hook === 'onConnect')).toMatchObject({
      level: 50,
      clientId,
      timedOut: true,
      err: { type: 'HookTimeoutError', message: expect.stringContaining('hookTimeout (50 ms)') },
    });
  });

  it('should merge the bindings into each line of a logger without child()', async () => {
    const calls: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
    const at =
      (level: string) =>
      (obj: object, msg?: string): void =>
        void calls.push({ level, obj: obj as Record<string, unknown>, msg });
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const supervisor = createSupervisor({ logger, hooks: { onDelete: () => Promise.reject(new Error('nope')) } });
    const { clientId } = supervisor.register();
    supervisor.delete(clientId);
    await supervisor.close();
    expect(calls).toContainEqual({
      level: 'error',
      obj: expect.objectContaining({ lib: 'socket.io-supervisor', clientId, hook: 'onDelete', timedOut: false }),
      msg: 'socket.io-supervisor: hook onDelete failed',
    });
    expect((calls[0]!.obj.err as Error).message).toBe('nope');
  });

  it('should log close() at info: how many clients it deleted, how many hooks it abandoned', async () => {
    const { logger, lines } = pinoLines();
    const supervisor = createSupervisor({ logger });
    for (let i = 0; i < 3; i++) supervisor.register();
    await supervisor.close();
    expect(lines.filter((line) => line.level === 30)).toEqual([
      expect.objectContaining({
        lib: 'socket.io-supervisor',
        deleted: 3,
        abandonedHooks: 0,
        msg: 'socket.io-supervisor: closed',
      }),
    ]);
  });

  it('should write nothing anywhere by default, even when hooks fail', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const supervisor = createSupervisor({ hooks: { onDelete: () => Promise.reject(new Error('nope')) } });
      const { clientId } = supervisor.register();
      supervisor.delete(clientId);
      await supervisor.close();
      expect(stdout).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    // console.* is checked by the guards (test/setup/guards.ts) after every test
  });
});
