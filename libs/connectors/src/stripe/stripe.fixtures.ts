// Wire bodies shaped like Stripe's answers (API v1), for specs. Values are Stripe's test conventions.
import type { AuthorizeRequest } from '../connector';
import type { StripeErrorBody, StripePaymentIntent } from './stripe.wire';

export function paymentIntentFixture(overrides: Partial<StripePaymentIntent> = {}): StripePaymentIntent {
  return {
    id: 'pi_3PfixtureA1b2C3d4E5f6G7h8',
    object: 'payment_intent',
    status: 'succeeded',
    amount: 2000,
    currency: 'usd',
    capture_method: 'automatic',
    amount_capturable: 0,
    amount_received: 2000,
    latest_charge: 'ch_3PfixtureA1b2C3d4E5f6G7h8',
    cancellation_reason: null,
    last_payment_error: null,
    next_action: null,
    ...overrides,
  };
}

/** The 402 Stripe sends when confirming with a declined card: the error carries the PaymentIntent. */
export function cardErrorBodyFixture(code: string, declineCode?: string, message = 'Your card was declined.'): StripeErrorBody {
  const error = { type: 'card_error', code, decline_code: declineCode, message };
  return {
    error: {
      ...error,
      payment_intent: paymentIntentFixture({
        status: 'requires_payment_method',
        amount_received: 0,
        last_payment_error: error,
      }),
    },
  };
}

export const authorizeRequestFixture: AuthorizeRequest = {
  attemptId: 'att_01J9Z8',
  paymentId: 'pay_01J9Z8',
  merchantId: 'mer_dev',
  amount: { amountMinor: 2000, currency: 'USD' },
  captureMethod: 'automatic',
  card: { number: '4242424242424242', expMonth: 12, expYear: 2034, cvc: '123' },
  description: 'Order 1001',
  metadata: { order_id: '1001' },
};
