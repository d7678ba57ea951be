import type { PaymentRequested, RiskAssessment, RiskDecision, RiskReason } from '@dirigen/payments';

/** A merchant's amount limits in one currency, in minor units. */
export interface AmountLimit {
  currency: string;
  /** Payments above this are declined. */
  declineAboveMinor: number;
  /** Payments above this (and not above the decline limit) go to manual review. */
  reviewAboveMinor: number;
}

export interface RiskProfile {
  amountLimits: AmountLimit[];
  /** 6-digit BINs whose cards are refused, each with why. */
  blockedBins: Map<string, string>;
}

export const riskScoreMax = 100;
export const declineScoreMin = 80;
export const reviewScoreMin = 50;

/**
 * Pure risk scoring: each rule that fires adds a reason with its score contribution; the
 * score is their sum capped at 100, and the decision follows from the thresholds above.
 */
export function assessRisk(request: PaymentRequested, profile: RiskProfile): RiskAssessment {
  const reasons: RiskReason[] = [...amountReasons(request, profile), ...binReasons(request, profile)];
  const score = Math.min(riskScoreMax, reasons.reduce((sum, reason) => sum + reason.scoreContribution, 0));
  return { score, decision: decisionFor(score), reasons };
}

function amountReasons(request: PaymentRequested, profile: RiskProfile): RiskReason[] {
  const limit = profile.amountLimits.find((candidate) => candidate.currency === request.amount.currency);
  if (!limit) return [];
  const amountMinor = request.amount.amountMinor;
  if (amountMinor > limit.declineAboveMinor) {
    return [
      {
        code: 'amount_over_limit',
        message: `Amount ${amountMinor} exceeds the merchant's limit of ${limit.declineAboveMinor} ${limit.currency} minor units.`,
        scoreContribution: riskScoreMax,
      },
    ];
  }
  if (amountMinor > limit.reviewAboveMinor) {
    return [
      {
        code: 'amount_needs_review',
        message: `Amount ${amountMinor} exceeds the review threshold of ${limit.reviewAboveMinor} ${limit.currency} minor units.`,
        scoreContribution: reviewScoreMin,
      },
    ];
  }
  return [];
}

function binReasons(request: PaymentRequested, profile: RiskProfile): RiskReason[] {
  const bin = request.paymentMethod.card?.bin;
  const why = bin === undefined ? undefined : profile.blockedBins.get(bin);
  if (why === undefined) return [];
  return [{ code: 'bin_blocked', message: `Card BIN ${bin} is blocked: ${why}.`, scoreContribution: riskScoreMax }];
}

function decisionFor(score: number): RiskDecision {
  if (score >= declineScoreMin) return 'decline';
  if (score >= reviewScoreMin) return 'review';
  return 'approve';
}
