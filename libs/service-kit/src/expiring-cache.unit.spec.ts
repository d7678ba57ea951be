import { describe, expect, it } from 'vitest';
import { ExpiringCache } from './expiring-cache';

describe('ExpiringCache', () => {
  it('loads once within the time to live, and again after it', async () => {
    let now = 0;
    let loads = 0;
    const cache = new ExpiringCache<string, number>(1_000, 10, () => now);
    const load = async () => ++loads;
    expect(await cache.get('a', load)).toBe(1);
    now = 999;
    expect(await cache.get('a', load)).toBe(1);
    now = 1_000;
    expect(await cache.get('a', load)).toBe(2);
  });

  it('never holds more than its maximum', async () => {
    let loads = 0;
    const cache = new ExpiringCache<number, number>(60_000, 2);
    for (const key of [1, 2, 3]) await cache.get(key, async () => ++loads);
    await cache.get(1, async () => ++loads);
    expect(loads).toBe(4);
  });
});
