import type { AmountLimit, RiskProfile } from '@dirigen/fraud-rules';
import type { EntityManager } from 'typeorm';

const cacheTtlMs = 5_000;
const cachedMerchantsMax = 10_000;

/**
 * Reads a merchant's risk profile, cached briefly: rules change rarely and are read for
 * every payment. A change takes effect within `cacheTtlMs`.
 */
export class RiskProfiles {
  private readonly cache = new Map<string, { profile: RiskProfile; expiresAt: number }>();

  async forMerchant(manager: EntityManager, merchantId: string): Promise<RiskProfile> {
    const cached = this.cache.get(merchantId);
    if (cached && cached.expiresAt > Date.now()) return cached.profile;
    const limits: { currency: string; decline_above_minor: string; review_above_minor: string }[] = await manager.query(
      'SELECT currency, decline_above_minor, review_above_minor FROM fraud.amount_limits WHERE merchant_id = $1',
      [merchantId],
    );
    const bins: { bin: string; reason: string }[] = await manager.query(
      `SELECT bin, reason FROM fraud.blocked_bins WHERE merchant_id IN ($1, '*')`,
      [merchantId],
    );
    const amountLimits: AmountLimit[] = limits.map((row) => ({
      currency: row.currency,
      declineAboveMinor: Number(row.decline_above_minor),
      reviewAboveMinor: Number(row.review_above_minor),
    }));
    const profile: RiskProfile = { amountLimits, blockedBins: new Map(bins.map((row) => [row.bin, row.reason])) };
    if (this.cache.size >= cachedMerchantsMax) this.cache.clear();
    this.cache.set(merchantId, { profile, expiresAt: Date.now() + cacheTtlMs });
    return profile;
  }
}
