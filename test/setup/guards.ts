import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Every test fails on console output (the library must never write to the console, and xstate's
 * development build warns through console.warn when an event reaches a stopped actor) and on an
 * unhandled rejection or uncaught exception raised while it ran.
 */
const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const spies: Array<{ mock: { calls: unknown[][] }; mockRestore(): void }> = [];
const unhandled: unknown[] = [];

function onUnhandled(error: unknown): void {
  unhandled.push(error);
}

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  for (const method of METHODS) spies.push(vi.spyOn(console, method));
});

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  const calls = spies.flatMap((spy, i) =>
    spy.mock.calls.map((args: unknown[]) => `console.${METHODS[i]}: ${args.map(String).join(' ')}`),
  );
  for (const spy of spies) spy.mockRestore();
  spies.length = 0;
  if (calls.length > 0) throw new Error(`unexpected console output:\n${calls.join('\n')}`);
  if (unhandled.length > 0) {
    throw new Error(
      `unhandled error during the test: ${unhandled.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n')}`,
    );
  }
});
