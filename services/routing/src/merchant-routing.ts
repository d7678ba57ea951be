import type { MerchantRouting } from '@dirigen/routing-rules';
import { ExpiringCache } from '@dirigen/service-kit';
import type { EntityManager } from 'typeorm';
import type { MerchantRoutingSource } from './routing-decision.handler';

/** Routes change rarely and are read for every payment: a change takes effect within this. */
const cacheTtlMs = 5_000;
const cachedMerchantsMax = 10_000;

/** A merchant's connector priority list. */
export class MerchantRoutings implements MerchantRoutingSource {
  private readonly cache = new ExpiringCache<string, MerchantRouting>(cacheTtlMs, cachedMerchantsMax);

  forMerchant(manager: EntityManager, merchantId: string): Promise<MerchantRouting> {
    return this.cache.get(merchantId, async () => {
      const routes: MerchantRouting['routes'] = await manager.query(
        'SELECT connector, priority, enabled, currencies, methods FROM routing.connector_routes WHERE merchant_id = $1',
        [merchantId],
      );
      return { rule: 'merchant_priority_list', routes };
    });
  }
}
