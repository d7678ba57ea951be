import type { AttemptOutcome } from '@dirigen/payments';
import { cardPaymentRequested, foldPayment, newPaymentRef, withMeta } from '@dirigen/testing';
import { describe, expect, it } from 'vitest';
import { presentPayment } from './payment.presenter';

// The public payment object's attempts, from a payment folded out of its events.

function paymentWithAttempt(outcome: AttemptOutcome) {
  const payment = newPaymentRef('mer_presenter_unit');
  const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested() });
  const routed = withMeta(payment, { type: 'payment.routed', data: { strategy: 'priority', rule: 'r', candidates: [{ connector: 'stripe', score: 1 }], excluded: [] } });
  const attempted = withMeta(payment, { type: 'payment.attempt_completed', data: outcome });
  return foldPayment([requested, routed, attempted]);
}

describe('the public payment object', () => {
  it("shows the PSP's own processing time on an attempt when the PSP reported one", () => {
    const payment = paymentWithAttempt({ attemptId: 'att_1', connector: 'stripe', status: 'captured', latencyMs: 57, pspProcessingMs: 50.3, pspReference: 'pi_1' });

    expect(presentPayment(payment).attempts).toEqual([{ id: 'att_1', connector: 'stripe', status: 'captured', failure_code: null, latency_ms: 57, psp_processing_ms: 50.3 }]);
  });

  it('leaves the processing time out, never zero, when the PSP reported none', () => {
    const payment = paymentWithAttempt({ attemptId: 'att_1', connector: 'stripe', status: 'captured', latencyMs: 57, pspReference: 'pi_1' });

    expect(presentPayment(payment).attempts[0]).not.toHaveProperty('psp_processing_ms');
  });
});
