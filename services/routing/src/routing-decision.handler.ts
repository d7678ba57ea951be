import { routeByPriority, type MerchantRouting } from '@dirigen/routing-rules';
import type { PaymentProcessorDefinition } from '@dirigen/service-kit';
import type { EntityManager } from 'typeorm';

/** Where a merchant's connector routes come from (PostgreSQL in production, `MerchantRoutings`); read inside the event's transaction. */
export interface MerchantRoutingSource {
  forMerchant(manager: EntityManager, merchantId: string): Promise<MerchantRouting>;
}

/** What routing needs: the request (amount, method) and the risk decision. */
const folds = new Set(['payment.requested', 'payment.risk_assessed'] as const);

/**
 * The routing service's reaction to payment events: every payment that risk let through (approved
 * or sent to review) is routed by the merchant's connector priority list; a declined one is not.
 */
export function routingDecisionHandler(routings: MerchantRoutingSource): Omit<PaymentProcessorDefinition<never>, 'consumer' | 'schema'> {
  return {
    folds,
    async react({ event, payment }, _prepared, manager) {
      if (event.type !== 'payment.risk_assessed' || event.data.decision === 'decline') return undefined;
      const decision = routeByPriority(payment.request, await routings.forMerchant(manager, payment.merchantId));
      return { type: 'RecordRoutingDecision', decision };
    },
  };
}
