import { describe, expect, it } from 'vitest';
import { backoff, isUnavailable, retry } from '../../src/cluster/redis/retry.js';
import { SupervisorError } from '../../src/core/errors.js';

// The one retry of cluster mode (issue 18, item 7): backoff with jitter, and the limits each caller sets.

const unavailable = () => new SupervisorError('UNAVAILABLE', 'no answer');

describe('backoff', () => {
  it('should double from first to max, with jitter between half and all of it', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(100 * 2 ** attempt, 1000);
      const delays = Array.from({ length: 200 }, () => backoff(attempt));
      expect(Math.min(...delays), `attempt ${attempt}`).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...delays), `attempt ${attempt}`).toBeLessThanOrEqual(ceiling);
      // spread, so nodes that lost Redis together do not retry in step
      expect(new Set(delays).size, `attempt ${attempt}`).toBeGreaterThan(5);
    }
    expect(backoff(1000, { first: 50, max: 1000 })).toBeLessThanOrEqual(1000);
    expect(backoff(0, { first: 50, max: 1000 })).toBeLessThanOrEqual(50);
  });
});

describe('retry', () => {
  const failing = (times: number, error: () => unknown = unavailable) => {
    let calls = 0;
    const call = async () => {
      calls += 1;
      if (calls <= times) throw error();
      return calls;
    };
    return { call, calls: () => calls };
  };

  it('should call again until Redis answers', async () => {
    const { call, calls } = failing(2);
    expect(await retry(call, { first: 1, max: 2 })).toBe(3);
    expect(calls()).toBe(3);
  });

  it('should stop after `attempts` calls, rejecting with the last UNAVAILABLE, and tell each one', async () => {
    const { call, calls } = failing(10);
    const told: unknown[] = [];
    const error = await retry(call, { attempts: 3, first: 1, max: 2, onUnavailable: (e) => told.push(e) }).catch(
      (e: unknown) => e,
    );
    expect(isUnavailable(error)).toBe(true);
    expect(calls()).toBe(3);
    expect(told).toHaveLength(3);
  });

  it('should stop once `while` says so, or the next wait would end past `within`', async () => {
    const stopped = failing(10);
    let allowed = 2;
    await expect(retry(stopped.call, { first: 1, max: 1, while: () => --allowed > 0 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(stopped.calls()).toBe(2);
    const late = failing(100);
    const started = Date.now();
    await expect(retry(late.call, { first: 20, max: 40, within: 100 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(late.calls()).toBeGreaterThan(1);
  });

  it('should reject at once any other error (a bug, not an outage)', async () => {
    const { call, calls } = failing(1, () => new TypeError('bad reply'));
    await expect(retry(call)).rejects.toBeInstanceOf(TypeError);
    expect(calls()).toBe(1);
  });
});
