import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('graceful shutdown under load', () => {
  it('should close while 1,000 sockets connect and drop: each client deleted once, and the process exits', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/shutdown-under-load.ts'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    // the fixture never calls process.exit: it ends only when no handle is left open
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the process did not exit on its own (a handle stayed open)\n${stdout}\n${stderr}`));
      }, 60_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.problems).toEqual([]);
    // closed mid-way: some sockets were up (some of them reconnecting), the rest still connecting
    expect(result.connectedAtClose).toBeGreaterThanOrEqual(300);
    expect(result.connectedAtClose).toBeLessThan(1000);
    expect(result.deleted).toBe(1000);
    expect(result.deletedTwice).toBe(0);
    expect(result.everyRegisteredDeleted).toBe(true);
  }, 90_000);
});
