import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  AttemptOutcome,
  AttemptStatus,
  CaptureMethod,
  CardFacts,
  Customer,
  FailureKind,
  Money,
  PaymentEvent,
  PaymentMethodFacts,
  PaymentMethodType,
  PaymentRequested,
  RiskAssessment,
  RiskDecision,
  RoutingDecision,
} from '@dirigen/payments';
import { ContractError } from './contract-error';
import type { Envelope, EnvelopeSchema } from './gen/dirigen/events/v1/envelope_pb';
import * as proto from './gen/dirigen/events/v1/payment_events_pb';

// Domain payloads ↔ protobuf payloads. Rules that hold in both directions:
// - int64 amounts are bigint on the wire and safe, non-negative integers in the domain; anything else is malformed.
// - proto3 strings have no presence: an absent optional domain string is written as '' and '' reads back as absent.
//   (So an optional string set to '' does not survive a round trip: it comes back absent.)
// - optional domain objects (customer, card) are proto messages, which do carry presence.
// - optional numbers (psp_processing_ms) are proto3 `optional` fields, which carry presence: absent stays absent, 0 stays 0.
// - enums map exhaustively; UNSPECIFIED or a number this build does not know is malformed.

type PayloadInit = MessageInitShape<typeof EnvelopeSchema>['payload'];
type Payload = Envelope['payload'];

export function payloadToProto(event: PaymentEvent): PayloadInit {
  switch (event.type) {
    case 'payment.requested':
      return { case: 'paymentRequested', value: requestedToProto(event.data) };
    case 'payment.risk_assessed':
      return { case: 'paymentRiskAssessed', value: riskAssessedToProto(event.data) };
    case 'payment.routed':
      return { case: 'paymentRouted', value: routedToProto(event.data) };
    case 'payment.attempt_completed':
      return { case: 'paymentAttemptCompleted', value: attemptCompletedToProto(event.data) };
    case 'payment.authorized':
      return {
        case: 'paymentAuthorized',
        value: { amountCapturable: moneyToProto('amountCapturable', event.data.amountCapturable), connector: event.data.connector },
      };
    case 'payment.succeeded':
      return {
        case: 'paymentSucceeded',
        value: { amountCaptured: moneyToProto('amountCaptured', event.data.amountCaptured), connector: event.data.connector },
      };
    case 'payment.failed':
      return { case: 'paymentFailed', value: { failureCode: event.data.failureCode, failureMessage: event.data.failureMessage } };
    default:
      return assertNever(event);
  }
}

/** The domain event carried by a payload, or undefined when the payload is not one this build knows. */
export function payloadFromProto(payload: Payload): PaymentEvent | undefined {
  switch (payload.case) {
    case undefined:
      return undefined;
    case 'paymentRequested':
      return { type: 'payment.requested', data: requestedFromProto(payload.value) };
    case 'paymentRiskAssessed':
      return { type: 'payment.risk_assessed', data: riskAssessedFromProto(payload.value) };
    case 'paymentRouted':
      return { type: 'payment.routed', data: routedFromProto(payload.value) };
    case 'paymentAttemptCompleted':
      return { type: 'payment.attempt_completed', data: attemptCompletedFromProto(payload.value) };
    case 'paymentAuthorized':
      return {
        type: 'payment.authorized',
        data: { amountCapturable: moneyFromProto('amountCapturable', payload.value.amountCapturable), connector: payload.value.connector },
      };
    case 'paymentSucceeded':
      return {
        type: 'payment.succeeded',
        data: { amountCaptured: moneyFromProto('amountCaptured', payload.value.amountCaptured), connector: payload.value.connector },
      };
    case 'paymentFailed':
      return { type: 'payment.failed', data: { failureCode: payload.value.failureCode, failureMessage: payload.value.failureMessage } };
    default:
      return assertNever(payload);
  }
}

function requestedToProto(data: PaymentRequested): MessageInitShape<typeof proto.PaymentRequestedSchema> {
  return {
    amount: moneyToProto('amount', data.amount),
    captureMethod: captureMethodToProto(data.captureMethod),
    paymentMethod: {
      type: data.paymentMethod.type,
      card: data.paymentMethod.card === undefined ? undefined : cardToProto(data.paymentMethod.card),
      provider: data.paymentMethod.provider ?? '',
    },
    customer:
      data.customer === undefined
        ? undefined
        : { email: data.customer.email ?? '', ip: data.customer.ip ?? '', country: data.customer.country ?? '' },
    description: data.description ?? '',
    metadata: { ...data.metadata },
  };
}

function requestedFromProto(message: proto.PaymentRequested): PaymentRequested {
  if (message.paymentMethod === undefined) throw malformed('payment_requested.payment_method is missing');
  return {
    amount: moneyFromProto('amount', message.amount),
    captureMethod: captureMethodFromProto(message.captureMethod),
    paymentMethod: paymentMethodFromProto(message.paymentMethod),
    ...(message.customer === undefined ? {} : { customer: customerFromProto(message.customer) }),
    ...present('description', message.description),
    metadata: { ...message.metadata },
  };
}

function paymentMethodFromProto(message: proto.PaymentMethod): PaymentMethodFacts {
  return {
    type: paymentMethodTypeFromProto(message.type),
    ...(message.card === undefined ? {} : { card: cardFromProto(message.card) }),
    ...present('provider', message.provider),
  };
}

function customerFromProto(message: proto.Customer): Customer {
  return { ...present('email', message.email), ...present('ip', message.ip), ...present('country', message.country) };
}

// The card message has no number field by design; these shapes stop a number from being smuggled into bin or last4.
const binPattern = /^\d{6,8}$/;
const last4Pattern = /^\d{4}$/;

function cardToProto(card: CardFacts): MessageInitShape<typeof proto.CardFactsSchema> {
  if (!binPattern.test(card.bin)) throw malformed('card.bin must be 6 to 8 digits');
  if (!last4Pattern.test(card.last4)) throw malformed('card.last4 must be 4 digits');
  return {
    token: card.token,
    brand: card.brand,
    last4: card.last4,
    bin: card.bin,
    expMonth: uint32('card.expMonth', card.expMonth),
    expYear: uint32('card.expYear', card.expYear),
    fingerprint: card.fingerprint,
  };
}

function cardFromProto(message: proto.CardFacts): CardFacts {
  const { token, brand, last4, bin, expMonth, expYear, fingerprint } = message;
  return { token, brand, last4, bin, expMonth, expYear, fingerprint };
}

function riskAssessedToProto(data: RiskAssessment): MessageInitShape<typeof proto.PaymentRiskAssessedSchema> {
  return {
    score: uint32('risk.score', data.score),
    decision: riskDecisionToProto(data.decision),
    reasons: data.reasons.map((reason) => ({
      code: reason.code,
      message: reason.message,
      scoreContribution: uint32('risk.reasons.scoreContribution', reason.scoreContribution),
    })),
  };
}

function riskAssessedFromProto(message: proto.PaymentRiskAssessed): RiskAssessment {
  return {
    score: message.score,
    decision: riskDecisionFromProto(message.decision),
    reasons: message.reasons.map(({ code, message: text, scoreContribution }) => ({ code, message: text, scoreContribution })),
  };
}

function routedToProto(data: RoutingDecision): MessageInitShape<typeof proto.PaymentRoutedSchema> {
  return {
    strategy: data.strategy,
    rule: data.rule,
    candidates: data.candidates.map(({ connector, score }) => ({ connector, score })),
    excluded: data.excluded.map(({ connector, reason }) => ({ connector, reason })),
  };
}

function routedFromProto(message: proto.PaymentRouted): RoutingDecision {
  return {
    strategy: message.strategy,
    rule: message.rule,
    candidates: message.candidates.map(({ connector, score }) => ({ connector, score })),
    excluded: message.excluded.map(({ connector, reason }) => ({ connector, reason })),
  };
}

function attemptCompletedToProto(data: AttemptOutcome): MessageInitShape<typeof proto.PaymentAttemptCompletedSchema> {
  return {
    attemptId: data.attemptId,
    connector: data.connector,
    status: attemptStatusToProto(data.status),
    failureCode: data.failureCode ?? '',
    failureMessage: data.failureMessage ?? '',
    failureKind: data.failureKind ?? '',
    latencyMs: uint32('attempt.latencyMs', data.latencyMs),
    ...(data.pspProcessingMs === undefined ? {} : { pspProcessingMs: durationMs('attempt.pspProcessingMs', data.pspProcessingMs) }),
    pspReference: data.pspReference ?? '',
  };
}

function attemptCompletedFromProto(message: proto.PaymentAttemptCompleted): AttemptOutcome {
  return {
    attemptId: message.attemptId,
    connector: message.connector,
    status: attemptStatusFromProto(message.status),
    ...present('failureCode', message.failureCode),
    ...present('failureMessage', message.failureMessage),
    ...(message.failureKind === '' ? {} : { failureKind: failureKindFromProto(message.failureKind) }),
    latencyMs: message.latencyMs,
    ...(message.pspProcessingMs === undefined ? {} : { pspProcessingMs: durationMs('psp_processing_ms', message.pspProcessingMs) }),
    ...present('pspReference', message.pspReference),
  };
}

const currencyPattern = /^[A-Z]{3}$/;
const amountMinorWireMax = BigInt(Number.MAX_SAFE_INTEGER);

function moneyToProto(field: string, money: Money): MessageInitShape<typeof proto.MoneySchema> {
  if (!Number.isSafeInteger(money.amountMinor) || money.amountMinor < 0) {
    throw malformed(`${field}.amountMinor must be a non-negative safe integer, got ${money.amountMinor}`);
  }
  if (!currencyPattern.test(money.currency)) throw malformed(`${field}.currency must be an ISO 4217 code, got "${money.currency}"`);
  return { amountMinor: BigInt(money.amountMinor), currency: money.currency };
}

function moneyFromProto(field: string, money: proto.Money | undefined): Money {
  if (money === undefined) throw malformed(`${field} is missing`);
  // Compare as bigint: Number() of a larger value would round silently.
  if (money.amountMinor < 0n || money.amountMinor > amountMinorWireMax) {
    throw malformed(`${field}.amount_minor must be a non-negative safe integer, got ${money.amountMinor}`);
  }
  if (!currencyPattern.test(money.currency)) throw malformed(`${field}.currency must be an ISO 4217 code, got "${money.currency}"`);
  return { amountMinor: Number(money.amountMinor), currency: money.currency };
}

function captureMethodToProto(value: CaptureMethod): proto.CaptureMethod {
  switch (value) {
    case 'automatic':
      return proto.CaptureMethod.AUTOMATIC;
    case 'manual':
      return proto.CaptureMethod.MANUAL;
    default:
      return assertNever(value);
  }
}

function captureMethodFromProto(value: proto.CaptureMethod): CaptureMethod {
  switch (value) {
    case proto.CaptureMethod.AUTOMATIC:
      return 'automatic';
    case proto.CaptureMethod.MANUAL:
      return 'manual';
    case proto.CaptureMethod.UNSPECIFIED:
      throw malformed('capture_method is unspecified');
    default:
      return unknownEnumValue('capture_method', value);
  }
}

function riskDecisionToProto(value: RiskDecision): proto.RiskDecision {
  switch (value) {
    case 'approve':
      return proto.RiskDecision.APPROVE;
    case 'review':
      return proto.RiskDecision.REVIEW;
    case 'decline':
      return proto.RiskDecision.DECLINE;
    default:
      return assertNever(value);
  }
}

function riskDecisionFromProto(value: proto.RiskDecision): RiskDecision {
  switch (value) {
    case proto.RiskDecision.APPROVE:
      return 'approve';
    case proto.RiskDecision.REVIEW:
      return 'review';
    case proto.RiskDecision.DECLINE:
      return 'decline';
    case proto.RiskDecision.UNSPECIFIED:
      throw malformed('risk decision is unspecified');
    default:
      return unknownEnumValue('risk decision', value);
  }
}

function attemptStatusToProto(value: AttemptStatus): proto.AttemptStatus {
  switch (value) {
    case 'authorized':
      return proto.AttemptStatus.AUTHORIZED;
    case 'captured':
      return proto.AttemptStatus.CAPTURED;
    case 'declined':
      return proto.AttemptStatus.DECLINED;
    case 'failed':
      return proto.AttemptStatus.FAILED;
    case 'requires_action':
      return proto.AttemptStatus.REQUIRES_ACTION;
    case 'unknown':
      return proto.AttemptStatus.UNKNOWN;
    default:
      return assertNever(value);
  }
}

function attemptStatusFromProto(value: proto.AttemptStatus): AttemptStatus {
  switch (value) {
    case proto.AttemptStatus.AUTHORIZED:
      return 'authorized';
    case proto.AttemptStatus.CAPTURED:
      return 'captured';
    case proto.AttemptStatus.DECLINED:
      return 'declined';
    case proto.AttemptStatus.FAILED:
      return 'failed';
    case proto.AttemptStatus.REQUIRES_ACTION:
      return 'requires_action';
    case proto.AttemptStatus.UNKNOWN:
      return 'unknown';
    case proto.AttemptStatus.UNSPECIFIED:
      // Not the same as UNKNOWN (the PSP's answer never arrived): an unset status is a producer bug.
      throw malformed('attempt status is unspecified');
    default:
      return unknownEnumValue('attempt status', value);
  }
}

// Strings on the wire, closed unions in the domain. A Record keyed by the union makes the compiler
// demand an entry for every member, so adding one to the domain breaks this file until it is listed.
const paymentMethodTypes: Record<PaymentMethodType, true> = { card: true, qris: true, ewallet: true, virtual_account: true, crypto: true };
const failureKinds: Record<FailureKind, true> = {
  hard_decline: true,
  soft_decline: true,
  retryable: true,
  authentication: true,
  invalid_request: true,
  unknown_outcome: true,
};

function paymentMethodTypeFromProto(value: string): PaymentMethodType {
  if (Object.hasOwn(paymentMethodTypes, value)) return value as PaymentMethodType;
  throw malformed(`payment_method.type "${value}" is not a known payment method type`);
}

// An unknown failure kind is malformed rather than mapped to a default: failover decides on this value,
// and guessing (say, retryable for a hard decline) would charge a card twice.
function failureKindFromProto(value: string): FailureKind {
  if (Object.hasOwn(failureKinds, value)) return value as FailureKind;
  throw malformed(`failure_kind "${value}" is not a known failure kind`);
}

const uint32Max = 0xffff_ffff;

function uint32(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > uint32Max) throw malformed(`${field} must be an integer in 0..${uint32Max}, got ${value}`);
  return value;
}

/** A duration in milliseconds (fractions allowed): finite and not negative, or malformed. */
function durationMs(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw malformed(`${field} must be a finite, non-negative number of milliseconds, got ${value}`);
  return value;
}

/** `{ key: value }` for a non-empty proto3 string, `{}` for '': the domain key stays absent, not `undefined`. */
function present<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

function malformed(message: string): ContractError {
  return new ContractError('malformed', message);
}

/** Compile time: every enum member has a case. Run time: proto3 enums are open, so a newer producer's value lands here. */
function unknownEnumValue(field: string, value: never): never {
  throw malformed(`${field} ${String(value)} is not a value this build knows`);
}

function assertNever(value: never): never {
  throw new Error(`invariant: unhandled variant ${JSON.stringify(value)}`);
}
