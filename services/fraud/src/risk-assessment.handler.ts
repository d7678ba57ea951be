import { assessRisk, type RiskProfile } from '@dirigen/fraud-rules';
import type { PaymentProcessorDefinition } from '@dirigen/service-kit';
import type { EntityManager } from 'typeorm';

/** Where a merchant's risk profile comes from (PostgreSQL in production, `RiskProfiles`); read through `manager` (cached). */
export interface RiskProfileSource {
  forMerchant(manager: EntityManager, merchantId: string): Promise<RiskProfile>;
}

/** The event that fraud scores, and the only one it folds. */
const folds = new Set(['payment.requested'] as const);

/**
 * The fraud service's reaction to payment events: every requested payment is scored against its
 * merchant's profile; the decider turns a decline into a failed payment. Fraud keeps no copy of
 * payments: the requested event is the whole payment so far, and what it decides carries it on.
 */
export function riskAssessmentHandler(profiles: RiskProfileSource): Omit<PaymentProcessorDefinition<never>, 'consumer' | 'schema'> {
  return {
    folds,
    state: 'carried',
    async react({ event, payment }, _prepared, manager) {
      if (event.type !== 'payment.requested') return undefined;
      const assessment = assessRisk(payment.request, await profiles.forMerchant(manager, payment.merchantId));
      return { type: 'RecordRiskAssessment', assessment };
    },
  };
}
