/**
 * A token bucket per internal caller: each may make `ratePerSecond` calls a second on average,
 * with bursts up to `burst`. Bounds how fast a compromised credential can drain card data.
 */
export class CallerRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; refilledAt: number }>();

  constructor(
    private readonly limits: ReadonlyMap<string, { ratePerSecond: number; burst: number }>,
    private readonly now: () => number = Date.now,
  ) {
    for (const [caller, limit] of limits) {
      if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1)) throw new Error(`invariant: rate limit of ${caller} must be positive`);
    }
  }

  /** True when `caller` may make one more call now (and counts it). Callers without a limit are refused. */
  tryTake(caller: string): boolean {
    const limit = this.limits.get(caller);
    if (!limit) return false;
    const now = this.now();
    const bucket = this.buckets.get(caller) ?? { tokens: limit.burst, refilledAt: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.refilledAt) / 1000) * limit.ratePerSecond);
    bucket.refilledAt = now;
    this.buckets.set(caller, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** `VAULT_DETOKENIZE_LIMITS=gateway:2000/4000` — calls per second / burst, per caller. */
export function detokenizeLimitsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Map<string, { ratePerSecond: number; burst: number }> {
  const text = env.VAULT_DETOKENIZE_LIMITS ?? 'gateway:2000/4000';
  return new Map(
    text.split(',').map((entry) => {
      const match = /^\s*([a-z-]+):(\d+)\/(\d+)\s*$/.exec(entry);
      if (!match) throw new Error(`VAULT_DETOKENIZE_LIMITS entries are <caller>:<per second>/<burst>, got "${entry}"`);
      return [match[1]!, { ratePerSecond: Number(match[2]), burst: Number(match[3]) }];
    }),
  );
}
