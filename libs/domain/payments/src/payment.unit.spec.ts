import { describe, expect, it } from 'vitest';
import {
  decide,
  evolve,
  initialPaymentState,
  PaymentDomainError,
  type PaymentCommand,
  type PaymentState,
} from './payment';
import type { PaymentEvent, PaymentRequested } from './payment-events';

const context = { paymentId: 'pay_1', merchantId: 'mer_1', occurredAt: '2026-11-27T12:00:00.000Z' };

const request: PaymentRequested = {
  amount: { amountMinor: 2000, currency: 'USD' },
  captureMethod: 'automatic',
  paymentMethod: {
    type: 'card',
    card: { token: 'tok_1', brand: 'visa', last4: '4242', bin: '424242', expMonth: 12, expYear: 2030, fingerprint: 'fp' },
  },
  metadata: {},
};

function given(events: PaymentEvent[]): PaymentState {
  return events.reduce((state, event) => evolve(state, event, context), initialPaymentState);
}

function when(state: PaymentState, command: PaymentCommand) {
  const events = decide(command, state);
  return { events, state: events.reduce((next, event) => evolve(next, event, context), state) };
}

const requested: PaymentEvent = { type: 'payment.requested', data: request };
const approved: PaymentEvent = { type: 'payment.risk_assessed', data: { score: 5, decision: 'approve', reasons: [] } };
const routed: PaymentEvent = {
  type: 'payment.routed',
  data: { strategy: 'priority', rule: 'default', candidates: [{ connector: 'stripe', score: 1 }], excluded: [] },
};

describe('payment decider', () => {
  it('starts a requested payment in processing', () => {
    const { events, state } = when(initialPaymentState, { type: 'RequestPayment', request });
    expect(events).toEqual([requested]);
    expect(state).toMatchObject({ kind: 'exists', payment: { status: 'processing', amountCapturedMinor: 0 } });
  });

  it('refuses to request the same payment twice', () => {
    expect(() => decide({ type: 'RequestPayment', request }, given([requested]))).toThrow(PaymentDomainError);
  });

  it('fails the payment when risk declines it', () => {
    const { events, state } = when(given([requested]), {
      type: 'RecordRiskAssessment',
      assessment: { score: 95, decision: 'decline', reasons: [{ code: 'bin_blocked', message: 'x', scoreContribution: 95 }] },
    });
    expect(events.map((event) => event.type)).toEqual(['payment.risk_assessed', 'payment.failed']);
    expect(state).toMatchObject({ payment: { status: 'failed', failure: { code: 'risk_declined' } } });
  });

  it('will not route a payment that risk has not assessed', () => {
    expect(() => decide({ type: 'RecordRoutingDecision', decision: routed.data as never }, given([requested]))).toThrow(
      /approving risk assessment/,
    );
  });

  it('fails when no connector is left to route to', () => {
    const { events } = when(given([requested, approved]), {
      type: 'RecordRoutingDecision',
      decision: { strategy: 'priority', rule: 'default', candidates: [], excluded: [{ connector: 'stripe', reason: 'disabled' }] },
    });
    expect(events.at(-1)).toMatchObject({ type: 'payment.failed', data: { failureCode: 'no_connector_available' } });
  });

  it('succeeds with the full amount captured when the connector captures', () => {
    const { state } = when(given([requested, approved, routed]), {
      type: 'RecordAttemptOutcome',
      outcome: { attemptId: 'att_1', connector: 'stripe', status: 'captured', latencyMs: 12 },
    });
    expect(state).toMatchObject({ payment: { status: 'succeeded', amountCapturedMinor: 2000, connector: 'stripe' } });
  });

  it('waits for capture when the connector only authorizes', () => {
    const { state } = when(given([requested, approved, routed]), {
      type: 'RecordAttemptOutcome',
      outcome: { attemptId: 'att_1', connector: 'stripe', status: 'authorized', latencyMs: 12 },
    });
    expect(state).toMatchObject({ payment: { status: 'requires_capture', amountCapturableMinor: 2000 } });
  });

  it('fails with the decline code on a hard decline', () => {
    const { state } = when(given([requested, approved, routed]), {
      type: 'RecordAttemptOutcome',
      outcome: {
        attemptId: 'att_1',
        connector: 'stripe',
        status: 'declined',
        failureCode: 'card_declined',
        failureKind: 'hard_decline',
        latencyMs: 9,
      },
    });
    expect(state).toMatchObject({ payment: { status: 'failed', failure: { code: 'card_declined' } } });
  });

  it('stays processing when the outcome is unknown', () => {
    const { events, state } = when(given([requested, approved, routed]), {
      type: 'RecordAttemptOutcome',
      outcome: { attemptId: 'att_1', connector: 'stripe', status: 'unknown', latencyMs: 5000 },
    });
    expect(events).toHaveLength(1);
    expect(state).toMatchObject({ payment: { status: 'processing' } });
  });

  it('records one attempt only once', () => {
    const outcome = { attemptId: 'att_1', connector: 'stripe', status: 'unknown' as const, latencyMs: 5 };
    const state = given([requested, approved, routed, { type: 'payment.attempt_completed', data: outcome }]);
    expect(() => decide({ type: 'RecordAttemptOutcome', outcome }, state)).toThrow(/already recorded/);
  });

  it('crashes on an event for a payment that was never requested', () => {
    expect(() => given([approved])).toThrow(PaymentDomainError);
  });
});
