import type { MerchantRouting } from '@dirigen/routing-rules';
import type { EntityManager } from 'typeorm';

const cacheTtlMs = 5_000;
const cachedMerchantsMax = 10_000;

/** A merchant's connector priority list, cached briefly (read per payment, changed rarely). */
export class MerchantRoutings {
  private readonly cache = new Map<string, { routing: MerchantRouting; expiresAt: number }>();

  async forMerchant(manager: EntityManager, merchantId: string): Promise<MerchantRouting> {
    const cached = this.cache.get(merchantId);
    if (cached && cached.expiresAt > Date.now()) return cached.routing;
    const rows: { connector: string; priority: number; enabled: boolean; currencies: string[]; methods: string[] }[] = await manager.query(
      'SELECT connector, priority, enabled, currencies, methods FROM routing.connector_routes WHERE merchant_id = $1',
      [merchantId],
    );
    const routing: MerchantRouting = { rule: 'merchant_priority_list', routes: rows };
    if (this.cache.size >= cachedMerchantsMax) this.cache.clear();
    this.cache.set(merchantId, { routing, expiresAt: Date.now() + cacheTtlMs });
    return routing;
  }
}
