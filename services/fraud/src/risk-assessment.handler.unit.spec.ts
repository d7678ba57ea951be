import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { RiskProfile } from '@dirigen/fraud-rules';
import { decide, type PaymentCommand, type PaymentEvent } from '@dirigen/payments';
import { cardPaymentRequested, foldPayment, newPaymentRef, withMeta, type PaymentEventWithMeta } from '@dirigen/testing';
import type { EntityManager } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { riskAssessmentHandler, type RiskProfileSource } from './risk-assessment.handler';

// The fraud service's decision, without I/O: profiles from memory, the events it would publish from the decider.

const merchantId = 'mer_fraud_unit';
const profiles = new Map<string, RiskProfile>([
  [merchantId, { amountLimits: [{ currency: 'USD', declineAboveMinor: 10_000_000, reviewAboveMinor: 5_000_000 }], blockedBins: new Map([['400011', 'reported fraud ring']]) }],
  ['mer_small', { amountLimits: [{ currency: 'USD', declineAboveMinor: 10_000, reviewAboveMinor: 5_000 }], blockedBins: new Map() }],
]);
const profileSource: RiskProfileSource = {
  forMerchant: async (_manager, merchant) => profiles.get(merchant) ?? { amountLimits: [], blockedBins: new Map() },
};
/** The in-memory source never touches the transaction it is handed. */
const noTransaction = {} as EntityManager;
const handler = riskAssessmentHandler(profileSource);

async function reactTo(history: PaymentEventWithMeta[]): Promise<PaymentCommand | undefined> {
  const { event, meta } = history[history.length - 1]!;
  return handler.react({ event, meta, payment: foldPayment(history), traceContext: ROOT_CONTEXT }, undefined, noTransaction);
}

/** Given a requested payment, the events fraud publishes for it. */
async function assess(amountMinor: number, bin = '424242', merchant = merchantId): Promise<PaymentEvent[]> {
  const requested = withMeta(newPaymentRef(merchant), { type: 'payment.requested', data: cardPaymentRequested({ amount: { amountMinor, currency: 'USD' } }, { bin }) });
  const command = await reactTo([requested]);
  expect(command?.type).toBe('RecordRiskAssessment');
  return decide(command!, { kind: 'exists', payment: foldPayment([requested]) });
}

describe('fraud: scoring a requested payment', () => {
  it('approves an ordinary payment with score 0 and no reasons', async () => {
    expect(await assess(2_000)).toEqual([{ type: 'payment.risk_assessed', data: { score: 0, decision: 'approve', reasons: [] } }]);
  });

  it('lets a payment above the review threshold through with a review decision and the reason', async () => {
    const [assessed, ...rest] = await assess(6_000_000);
    expect(assessed).toMatchObject({ type: 'payment.risk_assessed', data: { decision: 'review', score: 50, reasons: [{ code: 'amount_needs_review' }] } });
    expect(rest).toEqual([]);
  });

  it('declines a payment above the amount limit and fails it with risk_declined', async () => {
    const events = await assess(10_000_001);
    expect(events.map((event) => event.type)).toEqual(['payment.risk_assessed', 'payment.failed']);
    expect(events[0]).toMatchObject({ data: { decision: 'decline', score: 100, reasons: [{ code: 'amount_over_limit', message: expect.stringContaining('10000000 USD') }] } });
    expect(events[1]).toMatchObject({ data: { failureCode: 'risk_declined' } });
  });

  it('declines a card whose BIN is blocked, with the reason the block was given', async () => {
    const events = await assess(2_000, '400011');
    expect(events[0]).toEqual({
      type: 'payment.risk_assessed',
      data: { score: 100, decision: 'decline', reasons: [{ code: 'bin_blocked', message: 'Card BIN 400011 is blocked: reported fraud ring.', scoreContribution: 100 }] },
    });
    expect(events[1]).toMatchObject({ type: 'payment.failed', data: { failureCode: 'risk_declined' } });
  });

  it("scores each payment against its own merchant's profile", async () => {
    expect((await assess(6_000, '424242', 'mer_small'))[0]).toMatchObject({ data: { decision: 'review' } });
    expect((await assess(2_000, '400011', 'mer_small'))[0]).toMatchObject({ data: { decision: 'approve', reasons: [] } });
  });

  it('folds only payment.requested and reacts to nothing else', async () => {
    expect([...handler.folds]).toEqual(['payment.requested']);
    expect(handler.state).toBe('carried');
    const payment = newPaymentRef(merchantId);
    const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested() });
    const assessed = withMeta(payment, { type: 'payment.risk_assessed', data: { score: 0, decision: 'approve', reasons: [] } });
    expect(await reactTo([requested, assessed])).toBeUndefined();
  });
});
