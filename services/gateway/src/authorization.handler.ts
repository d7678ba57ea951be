import type { AttemptOutcome } from '@dirigen/payments';
import type { PaymentProcessorDefinition } from '@dirigen/service-kit';
import type { AuthorizationRunner } from './authorization-runner';

/** What an authorization acts on: the routing decision, which carries the request (amount, token) with it. */
const folds = new Set(['payment.routed'] as const);

/**
 * The gateway's reaction to payment events: a routed payment is authorized at its first candidate.
 * The PSP call happens in `prepare`, outside the transaction; the outcome is recorded with the
 * events it causes, and the vault may then erase the security code it used.
 */
export function authorizationHandler(runner: AuthorizationRunner): Omit<PaymentProcessorDefinition<AttemptOutcome>, 'consumer' | 'schema'> {
  return {
    folds,
    prepare: (items) => runner.run(items),
    afterCommit: (items, outcomes) => runner.releaseSecurityCodes(items, outcomes),
    async react({ event }, outcome) {
      if (event.type !== 'payment.routed' || event.data.candidates.length === 0) return undefined;
      if (!outcome) throw new Error('invariant: a routed payment reached react without an authorization outcome');
      return { type: 'RecordAttemptOutcome', outcome };
    },
  };
}
