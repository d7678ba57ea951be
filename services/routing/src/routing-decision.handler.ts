import { routeByPriority, type MerchantRouting } from '@dirigen/routing-rules';
import type { PaymentProcessorDefinition } from '@dirigen/service-kit';
import type { EntityManager } from 'typeorm';

/** Where a merchant's connector routes come from (PostgreSQL in production, `MerchantRoutings`); read through `manager` (cached). */
export interface MerchantRoutingSource {
  forMerchant(manager: EntityManager, merchantId: string): Promise<MerchantRouting>;
}

/** What routing acts on: the risk decision, which carries the request (amount, method) with it. */
const folds = new Set(['payment.risk_assessed'] as const);

/**
 * The routing service's reaction to payment events: every payment that risk let through (approved
 * or sent to review) is routed by the merchant's connector priority list; a declined one is not.
 * Routing keeps no copy of payments: the risk decision carries the request, and the routing
 * decision carries both on to the gateway.
 */
export function routingDecisionHandler(routings: MerchantRoutingSource): Omit<PaymentProcessorDefinition<never>, 'consumer' | 'schema'> {
  return {
    folds,
    state: 'carried',
    async react({ event, payment }, _prepared, manager) {
      if (event.type !== 'payment.risk_assessed' || event.data.decision === 'decline') return undefined;
      const decision = routeByPriority(payment.request, await routings.forMerchant(manager, payment.merchantId));
      return { type: 'RecordRoutingDecision', decision };
    },
  };
}
