import type { Payment, PaymentEvent } from '@dirigen/payments';

/** The payment object of the public API (PRODUCT.md): snake_case, masked card, everything explained. */
export function presentPayment(payment: Payment) {
  const { request } = payment;
  const card = request.paymentMethod.card;
  return {
    id: payment.id,
    object: 'payment',
    status: payment.status,
    amount: request.amount.amountMinor,
    amount_capturable: payment.amountCapturableMinor,
    amount_captured: payment.amountCapturedMinor,
    amount_refunded: payment.amountRefundedMinor,
    currency: request.amount.currency,
    capture_method: request.captureMethod,
    payment_method: {
      type: request.paymentMethod.type,
      ...(card
        ? { card: { brand: card.brand, last4: card.last4, exp_month: card.expMonth, exp_year: card.expYear, fingerprint: card.fingerprint } }
        : {}),
    },
    connector: payment.connector ?? null,
    attempts: payment.attempts.map((attempt) => ({
      id: attempt.attemptId,
      connector: attempt.connector,
      status: attempt.status,
      failure_code: attempt.failureCode ?? null,
      latency_ms: attempt.latencyMs,
      // The PSP's own processing time, when it reported one; never guessed, so absent otherwise.
      ...(attempt.pspProcessingMs === undefined ? {} : { psp_processing_ms: attempt.pspProcessingMs }),
    })),
    routing: payment.routing
      ? {
          strategy: payment.routing.strategy,
          rule: payment.routing.rule,
          candidates: payment.routing.candidates,
          excluded: payment.routing.excluded,
        }
      : null,
    risk: payment.risk
      ? { score: payment.risk.score, decision: payment.risk.decision, reasons: payment.risk.reasons.map(({ code, message }) => ({ code, message })) }
      : null,
    next_action: null,
    failure_code: payment.failure?.code ?? null,
    failure_message: payment.failure?.message ?? null,
    customer: request.customer ?? null,
    description: request.description ?? null,
    metadata: request.metadata,
    created_at: payment.createdAt,
    updated_at: payment.updatedAt,
  };
}

export type PresentedPayment = ReturnType<typeof presentPayment>;

/** One entry of `GET /v1/payments/:id/events`: the event as recorded, card facts masked as in the payment. */
export function presentEvent(row: { event_id: string; type: string; occurred_at: Date | string; data: PaymentEvent['data'] }) {
  return { id: row.event_id, type: row.type, occurred_at: new Date(row.occurred_at).toISOString(), data: row.data };
}
