import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../src/server/rateLimiter.js';

describe('rate limiter', () => {
  it('should allow limit hits per window, then refuse until the window ends', () => {
    let clock = 0;
    const limiter = createRateLimiter({ limit: 3, window: 1000, now: () => clock });
    expect([1, 2, 3, 4].map(() => limiter.hit('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(limiter.isLimited('10.0.0.1')).toBe(true);
    expect(limiter.hit('10.0.0.2')).toBe(true);
    clock = 999;
    expect(limiter.hit('10.0.0.1')).toBe(false);
    clock = 1000;
    expect(limiter.isLimited('10.0.0.1')).toBe(false);
    expect(limiter.hit('10.0.0.1')).toBe(true);
  });

  it('should forget expired windows without a timer', () => {
    let clock = 0;
    const limiter = createRateLimiter({ limit: 1, window: 10, now: () => clock });
    for (let i = 0; i < 100; i += 1) limiter.hit(`addr-${i}`);
    expect(limiter.size()).toBe(100);
    clock = 10;
    limiter.hit('late');
    expect(limiter.size()).toBe(1);
  });

  it('should keep at most maxKeys windows', () => {
    const limiter = createRateLimiter({ limit: 1, window: 1000, now: () => 0, maxKeys: 50 });
    for (let i = 0; i < 500; i += 1) limiter.hit(`addr-${i}`);
    expect(limiter.size()).toBe(50);
  });

  it('should refuse everything with limit 0', () => {
    const limiter = createRateLimiter({ limit: 0, window: 1000, now: () => 0 });
    expect(limiter.hit('a')).toBe(false);
  });
});
