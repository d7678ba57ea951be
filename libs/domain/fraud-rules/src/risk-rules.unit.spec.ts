import { describe, expect, it } from 'vitest';
import type { PaymentRequested } from '@dirigen/payments';
import { assessRisk, type RiskProfile } from './risk-rules';

const profile: RiskProfile = {
  amountLimits: [{ currency: 'USD', declineAboveMinor: 1_000_000, reviewAboveMinor: 500_000 }],
  blockedBins: new Map([['400000', 'test BIN of known fraud']]),
};

function payment(amountMinor: number, bin = '424242', currency = 'USD'): PaymentRequested {
  return {
    amount: { amountMinor, currency },
    captureMethod: 'automatic',
    paymentMethod: {
      type: 'card',
      card: { token: 't', brand: 'visa', last4: '4242', bin, expMonth: 1, expYear: 2030, fingerprint: 'f' },
    },
    metadata: {},
  };
}

describe('assessRisk', () => {
  it('approves an ordinary payment with no reasons', () => {
    expect(assessRisk(payment(2000), profile)).toEqual({ score: 0, decision: 'approve', reasons: [] });
  });

  it('sends a payment above the review threshold to review', () => {
    const assessment = assessRisk(payment(600_000), profile);
    expect(assessment.decision).toBe('review');
    expect(assessment.reasons.map((reason) => reason.code)).toEqual(['amount_needs_review']);
  });

  it('declines a payment above the merchant limit', () => {
    expect(assessRisk(payment(1_000_001), profile)).toMatchObject({ score: 100, decision: 'decline' });
  });

  it('declines a blocked BIN and caps the score at 100', () => {
    const assessment = assessRisk(payment(1_000_001, '400000'), profile);
    expect(assessment.score).toBe(100);
    expect(assessment.reasons.map((reason) => reason.code)).toEqual(['amount_over_limit', 'bin_blocked']);
  });

  it('applies no amount limit in a currency the merchant has none for', () => {
    expect(assessRisk(payment(99_000_000, '424242', 'EUR'), profile).decision).toBe('approve');
  });
});
