import type { Money } from './money';

export type CaptureMethod = 'automatic' | 'manual';
export type PaymentMethodType = 'card' | 'qris' | 'ewallet' | 'virtual_account' | 'crypto';
export type RiskDecision = 'approve' | 'review' | 'decline';
export type AttemptStatus = 'authorized' | 'captured' | 'declined' | 'failed' | 'requires_action' | 'unknown';

/** How failover treats a failed attempt: only `retryable` and `soft_decline` may move to another connector. */
export type FailureKind = 'hard_decline' | 'soft_decline' | 'retryable' | 'authentication' | 'invalid_request' | 'unknown_outcome';

export interface CardFacts {
  token: string;
  brand: string;
  last4: string;
  bin: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
}

export interface PaymentMethodFacts {
  type: PaymentMethodType;
  card?: CardFacts;
  provider?: string;
}

export interface Customer {
  email?: string;
  ip?: string;
  country?: string;
}

export interface PaymentRequested {
  amount: Money;
  captureMethod: CaptureMethod;
  paymentMethod: PaymentMethodFacts;
  customer?: Customer;
  description?: string;
  metadata: Record<string, string>;
}

export interface RiskReason {
  code: string;
  message: string;
  scoreContribution: number;
}

export interface RiskAssessment {
  score: number;
  decision: RiskDecision;
  reasons: RiskReason[];
}

export interface RoutingDecision {
  strategy: string;
  rule: string;
  candidates: { connector: string; score: number }[];
  excluded: { connector: string; reason: string }[];
}

export interface AttemptOutcome {
  attemptId: string;
  connector: string;
  status: AttemptStatus;
  failureCode?: string;
  failureMessage?: string;
  failureKind?: FailureKind;
  /** The PSP call as the gateway measured it (whole milliseconds). */
  latencyMs: number;
  /** The PSP's own processing time, when it reported one (milliseconds, one decimal): `latencyMs` minus this is the network's and the connector's share. */
  pspProcessingMs?: number;
  pspReference?: string;
}

/** Every fact about a payment, in the order it happened. Discriminated by `type`. */
export type PaymentEvent =
  | { type: 'payment.requested'; data: PaymentRequested }
  | { type: 'payment.risk_assessed'; data: RiskAssessment }
  | { type: 'payment.routed'; data: RoutingDecision }
  | { type: 'payment.attempt_completed'; data: AttemptOutcome }
  | { type: 'payment.authorized'; data: { amountCapturable: Money; connector: string } }
  | { type: 'payment.succeeded'; data: { amountCaptured: Money; connector: string } }
  | { type: 'payment.failed'; data: { failureCode: string; failureMessage: string } };

export type PaymentEventType = PaymentEvent['type'];

export const paymentEventTypes: readonly PaymentEventType[] = [
  'payment.requested',
  'payment.risk_assessed',
  'payment.routed',
  'payment.attempt_completed',
  'payment.authorized',
  'payment.succeeded',
  'payment.failed',
];
