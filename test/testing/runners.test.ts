import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { lifecyclePaths } from '../../src/testing/index.js';

// The kit depends on no test runner: the same paths under node:test, in a child process.

const run = promisify(execFile);

it('should run every path under node:test and node:assert', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/testing/fixtures/kit.node-test.ts'],
    { env },
  );
  const tests = lifecyclePaths().length + 2;
  expect(stdout).toMatch(new RegExp(`^# pass ${tests}$`, 'm'));
  expect(stdout).toMatch(/^# fail 0$/m);
  process.stdout.write(`node:test: ${tests} tests passed\n`);
});
