import type { AmountLimit, RiskProfile } from '@dirigen/fraud-rules';
import { ExpiringCache } from '@dirigen/service-kit';
import type { EntityManager } from 'typeorm';
import type { RiskProfileSource } from './risk-assessment.handler';

/** Limits change rarely and are read for every payment: a change takes effect within this. */
const cacheTtlMs = 5_000;
const cachedMerchantsMax = 10_000;

/** A merchant's risk profile: its amount limits and the BINs blocked for it or for everyone. */
export class RiskProfiles implements RiskProfileSource {
  private readonly cache = new ExpiringCache<string, RiskProfile>(cacheTtlMs, cachedMerchantsMax);

  forMerchant(manager: EntityManager, merchantId: string): Promise<RiskProfile> {
    return this.cache.get(merchantId, async () => {
      const limits: { currency: string; decline_above_minor: string; review_above_minor: string }[] = await manager.query(
        'SELECT currency, decline_above_minor, review_above_minor FROM fraud.amount_limits WHERE merchant_id = $1',
        [merchantId],
      );
      const bins: { bin: string; reason: string }[] = await manager.query(`SELECT bin, reason FROM fraud.blocked_bins WHERE merchant_id IN ($1, '*')`, [merchantId]);
      const amountLimits: AmountLimit[] = limits.map((row) => ({
        currency: row.currency,
        declineAboveMinor: Number(row.decline_above_minor),
        reviewAboveMinor: Number(row.review_above_minor),
      }));
      return { amountLimits, blockedBins: new Map(bins.map((row) => [row.bin, row.reason])) };
    });
  }
}
