import { describe, expect, it } from 'vitest';
import { CallerRateLimiter, detokenizeLimitsFromEnvironment } from './caller-rate-limiter';

describe('CallerRateLimiter', () => {
  it('allows a burst, then the sustained rate, per caller', () => {
    let now = 0;
    const limiter = new CallerRateLimiter(new Map([['gateway', { ratePerSecond: 10, burst: 3 }]]), () => now);
    expect([1, 2, 3, 4].map(() => limiter.tryTake('gateway'))).toEqual([true, true, true, false]);
    now = 100; // one call earned back in 100 ms at 10/s
    expect([limiter.tryTake('gateway'), limiter.tryTake('gateway')]).toEqual([true, false]);
  });

  it('refuses callers that have no limit configured', () => {
    expect(new CallerRateLimiter(new Map()).tryTake('intake')).toBe(false);
  });

  it('reads limits from the environment and refuses malformed ones', () => {
    expect(detokenizeLimitsFromEnvironment({ VAULT_DETOKENIZE_LIMITS: 'gateway:50/100' })).toEqual(new Map([['gateway', { ratePerSecond: 50, burst: 100 }]]));
    expect(() => detokenizeLimitsFromEnvironment({ VAULT_DETOKENIZE_LIMITS: 'gateway:fast' })).toThrow(/entries are/);
  });
});
