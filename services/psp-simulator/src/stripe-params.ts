// Reading Stripe's form parameters: amounts, metadata and the card, with Stripe's error answers.
import { invalidRequest, missingParam, stripeError, type SimulatedResponse } from './stripe-wire';
import { testPaymentMethodCards, type SimulatedCard } from './test-cards';

/** Stripe's documented metadata limit. */
export const metadataKeysMax = 50;
/** Twelve digits: above any single card payment in any currency, below 2^53. */
const amountDigitsMax = 12;

export type PaymentMethodParse = { kind: 'card'; card: SimulatedCard } | { kind: 'none' } | { kind: 'error'; response: SimulatedResponse };

/** A test PaymentMethod id (`payment_method=pm_card_visa`) or raw `payment_method_data[card][...]`. */
export function readPaymentMethod(params: URLSearchParams, nowMs: number): PaymentMethodParse {
  const paymentMethodId = params.get('payment_method');
  if (paymentMethodId !== null) {
    const number = testPaymentMethodCards.get(paymentMethodId);
    if (!number) {
      const response = stripeError(400, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'payment_method',
        message: `No such PaymentMethod: '${paymentMethodId}'`,
      });
      return { kind: 'error', response };
    }
    // Stripe's test PaymentMethods never expire.
    return { kind: 'card', card: { number, expMonth: 12, expYear: new Date(nowMs).getUTCFullYear() + 5 } };
  }
  const type = params.get('payment_method_data[type]');
  if (type === null) return { kind: 'none' };
  if (type !== 'card') return { kind: 'error', response: invalidRequest('The simulator supports card payment methods only.', 'payment_method_data[type]') };
  const number = params.get('payment_method_data[card][number]');
  if (number === null) return { kind: 'error', response: missingParam('payment_method_data[card][number]') };
  const expMonth = Number(params.get('payment_method_data[card][exp_month]'));
  if (!Number.isInteger(expMonth) || expMonth < 1 || expMonth > 12) {
    return { kind: 'error', response: invalidRequest("Your card's expiration month is invalid.", 'payment_method_data[card][exp_month]', 'invalid_expiry_month') };
  }
  const rawYear = Number(params.get('payment_method_data[card][exp_year]'));
  if (!Number.isInteger(rawYear) || rawYear < 1 || rawYear > 9999) {
    return { kind: 'error', response: invalidRequest("Your card's expiration year is invalid.", 'payment_method_data[card][exp_year]', 'invalid_expiry_year') };
  }
  const expYear = rawYear < 100 ? 2000 + rawYear : rawYear; // Stripe accepts two-digit years
  return { kind: 'card', card: { number: number.replace(/[\s-]/g, ''), expMonth, expYear } };
}

export function parseAmount(text: string): number | undefined {
  return text.length <= amountDigitsMax && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** `metadata[key]=value` pairs; undefined when there are more keys than Stripe allows. */
export function readMetadata(params: URLSearchParams): Record<string, string> | undefined {
  // No prototype: a key named `__proto__` stays a plain key.
  const metadata = Object.create(null) as Record<string, string>;
  let keys = 0;
  for (const [key, value] of params) {
    if (!key.startsWith('metadata[') || !key.endsWith(']')) continue;
    keys += 1;
    if (keys > metadataKeysMax) return undefined;
    metadata[key.slice('metadata['.length, -1)] = value;
  }
  return metadata;
}
