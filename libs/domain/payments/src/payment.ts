import { assertMoney } from './money';
import type {
  AttemptOutcome,
  PaymentEvent,
  PaymentRequested,
  RiskAssessment,
  RoutingDecision,
} from './payment-events';

export type PaymentStatus = 'requires_action' | 'processing' | 'requires_capture' | 'succeeded' | 'failed' | 'canceled';

export interface Payment {
  id: string;
  merchantId: string;
  status: PaymentStatus;
  request: PaymentRequested;
  risk?: RiskAssessment;
  routing?: RoutingDecision;
  attempts: AttemptOutcome[];
  connector?: string;
  amountCapturableMinor: number;
  amountCapturedMinor: number;
  amountRefundedMinor: number;
  failure?: { code: string; message: string };
  createdAt: string;
  updatedAt: string;
}

export type PaymentState = { kind: 'none' } | { kind: 'exists'; payment: Payment };

export const initialPaymentState: PaymentState = { kind: 'none' };

/** Where and when an event happened: the envelope facts `evolve` needs. */
export interface EventContext {
  paymentId: string;
  merchantId: string;
  occurredAt: string;
}

export type PaymentCommand =
  | { type: 'RequestPayment'; request: PaymentRequested }
  | { type: 'RecordRiskAssessment'; assessment: RiskAssessment }
  | { type: 'RecordRoutingDecision'; decision: RoutingDecision }
  | { type: 'RecordAttemptOutcome'; outcome: AttemptOutcome };

export type PaymentErrorCode = 'payment_not_found' | 'payment_already_exists' | 'invalid_transition';

/** The one error type the payment decider throws; transports map `code` to HTTP or to dead-lettering. */
export class PaymentDomainError extends Error {
  constructor(
    readonly code: PaymentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentDomainError';
  }
}

/** Pure: which events a command produces given the payment's current state. */
export function decide(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  switch (command.type) {
    case 'RequestPayment': {
      if (state.kind === 'exists') throw new PaymentDomainError('payment_already_exists', 'The payment already exists.');
      assertMoney(command.request.amount);
      return [{ type: 'payment.requested', data: command.request }];
    }
    case 'RecordRiskAssessment': {
      const payment = requireProcessing(state, 'record a risk assessment');
      if (payment.risk) throw invalidTransition('the payment was already assessed');
      const events: PaymentEvent[] = [{ type: 'payment.risk_assessed', data: command.assessment }];
      if (command.assessment.decision === 'decline') {
        events.push({
          type: 'payment.failed',
          data: { failureCode: 'risk_declined', failureMessage: 'The payment was declined by risk checks.' },
        });
      }
      return events;
    }
    case 'RecordRoutingDecision': {
      const payment = requireProcessing(state, 'route');
      if (!payment.risk || payment.risk.decision === 'decline') throw invalidTransition('routing needs an approving risk assessment');
      if (payment.routing) throw invalidTransition('the payment was already routed');
      const events: PaymentEvent[] = [{ type: 'payment.routed', data: command.decision }];
      if (command.decision.candidates.length === 0) {
        events.push({
          type: 'payment.failed',
          data: { failureCode: 'no_connector_available', failureMessage: 'No connector can process this payment.' },
        });
      }
      return events;
    }
    case 'RecordAttemptOutcome':
      return decideAttemptOutcome(requireProcessing(state, 'record an attempt'), command.outcome);
    default:
      return assertNever(command);
  }
}

function decideAttemptOutcome(payment: Payment, outcome: AttemptOutcome): PaymentEvent[] {
  if (!payment.routing) throw invalidTransition('an attempt needs a routing decision');
  if (payment.attempts.some((attempt) => attempt.attemptId === outcome.attemptId)) {
    throw invalidTransition(`attempt ${outcome.attemptId} was already recorded`);
  }
  const recorded: PaymentEvent = { type: 'payment.attempt_completed', data: outcome };
  const amount = payment.request.amount;
  switch (outcome.status) {
    case 'captured':
      return [recorded, { type: 'payment.succeeded', data: { amountCaptured: amount, connector: outcome.connector } }];
    case 'authorized':
      return [recorded, { type: 'payment.authorized', data: { amountCapturable: amount, connector: outcome.connector } }];
    case 'declined':
    case 'failed':
      return [
        recorded,
        {
          type: 'payment.failed',
          data: {
            failureCode: outcome.failureCode ?? 'processing_error',
            failureMessage: outcome.failureMessage ?? 'The payment could not be processed.',
          },
        },
      ];
    case 'requires_action':
    case 'unknown':
      // Not final: the customer must act, or a status inquiry must resolve the outcome first.
      return [recorded];
    default:
      return assertNever(outcome.status);
  }
}

/** Pure: the payment after one more event. Unknown states are bugs, so they crash loudly. */
export function evolve(state: PaymentState, event: PaymentEvent, context: EventContext): PaymentState {
  if (event.type === 'payment.requested') {
    return {
      kind: 'exists',
      payment: {
        id: context.paymentId,
        merchantId: context.merchantId,
        status: 'processing',
        request: event.data,
        attempts: [],
        amountCapturableMinor: 0,
        amountCapturedMinor: 0,
        amountRefundedMinor: 0,
        createdAt: context.occurredAt,
        updatedAt: context.occurredAt,
      },
    };
  }
  if (state.kind === 'none') throw new PaymentDomainError('payment_not_found', `event ${event.type} for a payment never requested`);
  const payment: Payment = { ...state.payment, updatedAt: context.occurredAt };
  switch (event.type) {
    case 'payment.risk_assessed':
      payment.risk = event.data;
      break;
    case 'payment.routed':
      payment.routing = event.data;
      break;
    case 'payment.attempt_completed':
      payment.attempts = [...payment.attempts, event.data];
      payment.connector = event.data.connector;
      if (event.data.status === 'requires_action') payment.status = 'requires_action';
      break;
    case 'payment.authorized':
      payment.status = 'requires_capture';
      payment.connector = event.data.connector;
      payment.amountCapturableMinor = event.data.amountCapturable.amountMinor;
      break;
    case 'payment.succeeded':
      payment.status = 'succeeded';
      payment.connector = event.data.connector;
      payment.amountCapturableMinor = 0;
      payment.amountCapturedMinor = event.data.amountCaptured.amountMinor;
      break;
    case 'payment.failed':
      payment.status = 'failed';
      payment.failure = { code: event.data.failureCode, message: event.data.failureMessage };
      break;
    default:
      return assertNever(event);
  }
  return { kind: 'exists', payment };
}

/** True once no further event can change the outcome the merchant waits for. */
export function isSettledForWaiters(status: PaymentStatus): boolean {
  return status !== 'processing';
}

function requireProcessing(state: PaymentState, action: string): Payment {
  if (state.kind === 'none') throw new PaymentDomainError('payment_not_found', `cannot ${action}: no such payment`);
  if (state.payment.status !== 'processing') {
    throw invalidTransition(`cannot ${action} on a payment in status ${state.payment.status}`);
  }
  return state.payment;
}

function invalidTransition(message: string): PaymentDomainError {
  return new PaymentDomainError('invalid_transition', message);
}

function assertNever(value: never): never {
  throw new Error(`invariant: unhandled case ${JSON.stringify(value)}`);
}
