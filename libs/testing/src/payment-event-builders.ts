import { randomBytes, randomUUID } from 'node:crypto';
import type { EnvelopeMeta } from '@dirigen/contracts';
import { evolve, initialPaymentState, type CardFacts, type Payment, type PaymentEvent, type PaymentRequested, type PaymentState } from '@dirigen/payments';

// Events as the services upstream would publish them, for tests that play one service's part of the pipeline.

/** One event with its envelope facts, as it travels on the payment topic. */
export interface PaymentEventWithMeta {
  event: PaymentEvent;
  meta: EnvelopeMeta;
}

/** A payment's identity: every event of one payment carries these. */
export interface PaymentRef {
  paymentId: string;
  merchantId: string;
  correlationId: string;
}

export function newPaymentRef(merchantId: string): PaymentRef {
  return { paymentId: `pay_it_${randomBytes(8).toString('hex')}`, merchantId, correlationId: randomUUID() };
}

/** A fresh event id, in the envelope of `payment`; `causationId` names the event it follows from. */
export function withMeta(payment: PaymentRef, event: PaymentEvent, causationId?: string): PaymentEventWithMeta {
  return {
    event,
    meta: {
      eventId: randomUUID(),
      paymentId: payment.paymentId,
      merchantId: payment.merchantId,
      occurredAt: new Date().toISOString(),
      ...(causationId ? { causationId } : {}),
      correlationId: payment.correlationId,
      producer: 'int-spec',
    },
  };
}

/** The card facts intake records for a tokenized card (never the number). */
export function cardFacts(overrides: Partial<CardFacts> = {}): CardFacts {
  return {
    token: `tok_it_${randomBytes(8).toString('hex')}`,
    brand: 'visa',
    last4: '4242',
    bin: '424242',
    expMonth: 12,
    expYear: 2034,
    fingerprint: randomBytes(16).toString('base64url'),
    ...overrides,
  };
}

/** A confirmed card payment as intake requests it. */
export function cardPaymentRequested(overrides: Partial<PaymentRequested> = {}, card: Partial<CardFacts> = {}): PaymentRequested {
  return {
    amount: { amountMinor: 2_000, currency: 'USD' },
    captureMethod: 'automatic',
    paymentMethod: { type: 'card', card: cardFacts(card) },
    metadata: { order_id: 'it-1' },
    ...overrides,
  };
}

/** The payment after `history`, folded by the domain's own `evolve`. */
export function foldPayment(history: readonly PaymentEventWithMeta[]): Payment {
  const state = history.reduce<PaymentState>(
    (current, { event, meta }) => evolve(current, event, { paymentId: meta.paymentId, merchantId: meta.merchantId, occurredAt: meta.occurredAt }),
    initialPaymentState,
  );
  if (state.kind !== 'exists') throw new Error('invariant: a folded history starts with payment.requested');
  return state.payment;
}
