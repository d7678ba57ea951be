import { describe, expect, it } from 'vitest';
import type { AttemptStatus } from '@dirigen/payments';
import { ConnectorError } from '../connector';
import { createConnector } from '../connector-registry';
import { HttpTransportError } from '../http-client';
import { authorizeRequestFixture, cardErrorBodyFixture, paymentIntentFixture } from './stripe.fixtures';
import {
  encodeStripeForm,
  paymentIntentToOutcome,
  stripeResponseToAttemptResult,
  toPaymentIntentCreateForm,
  transportErrorToAttemptResult,
} from './stripe.transformers';
import { stripePaymentIntentStatuses, type StripePaymentIntentStatus } from './stripe.wire';

function answer(status: number, body: unknown, latencyMs = 42) {
  return stripeResponseToAttemptResult({ status, bodyText: typeof body === 'string' ? body : JSON.stringify(body), latencyMs });
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('Stripe form encoding', () => {
  it('encodes nested objects as bracketed keys and arrays by index', () => {
    const form = encodeStripeForm({ a: { b: { c: 'deep' } }, list: ['x', 'y'], flag: true, count: 3 });
    expect([...form.entries()]).toEqual([
      ['a[b][c]', 'deep'],
      ['list[0]', 'x'],
      ['list[1]', 'y'],
      ['flag', 'true'],
      ['count', '3'],
    ]);
    expect(form.toString()).toBe('a%5Bb%5D%5Bc%5D=deep&list%5B0%5D=x&list%5B1%5D=y&flag=true&count=3');
  });

  it('leaves undefined values out instead of sending empty strings (Stripe reads "" as unset)', () => {
    expect(encodeStripeForm({ description: undefined, nested: { gone: undefined }, kept: 'v' }).toString()).toBe('kept=v');
  });

  it('refuses nesting deeper than it ever builds', () => {
    expect(() => encodeStripeForm({ a: { b: { c: { d: { e: { f: 'too deep' } } } } } })).toThrow(/invariant/);
  });
});

describe('PaymentIntent create parameters', () => {
  it('sends amount, lower-case currency, confirm, capture method, card and our metadata', () => {
    const form = toPaymentIntentCreateForm({ ...authorizeRequestFixture, captureMethod: 'manual' });
    expect(Object.fromEntries(form.entries())).toEqual({
      amount: '2000',
      currency: 'usd',
      confirm: 'true',
      capture_method: 'manual',
      'payment_method_types[0]': 'card',
      'payment_method_data[type]': 'card',
      'payment_method_data[card][number]': '4242424242424242',
      'payment_method_data[card][exp_month]': '12',
      'payment_method_data[card][exp_year]': '2034',
      'payment_method_data[card][cvc]': '123',
      description: 'Order 1001',
      'metadata[order_id]': '1001',
      'metadata[dirigen_payment_id]': 'pay_01J9Z8',
      'metadata[dirigen_attempt_id]': 'att_01J9Z8',
      'metadata[dirigen_merchant_id]': 'mer_dev',
    });
  });

  it('passes zero-decimal amounts through unconverted (Stripe takes minor units everywhere)', () => {
    const form = toPaymentIntentCreateForm({ ...authorizeRequestFixture, amount: { amountMinor: 5000, currency: 'JPY' } });
    expect(form.get('amount')).toBe('5000');
    expect(form.get('currency')).toBe('jpy');
  });

  it('keeps our metadata keys when a merchant sends the same names', () => {
    const form = toPaymentIntentCreateForm({ ...authorizeRequestFixture, metadata: { dirigen_payment_id: 'forged' } });
    expect(form.getAll('metadata[dirigen_payment_id]')).toEqual(['pay_01J9Z8']);
  });

  it('leaves out the cvc when the vault holds none', () => {
    const { cvc: _cvc, ...cardWithoutCvc } = authorizeRequestFixture.card;
    expect(toPaymentIntentCreateForm({ ...authorizeRequestFixture, card: cardWithoutCvc }).has('payment_method_data[card][cvc]')).toBe(false);
  });

  it.each([
    ['an idempotency key over 255 characters', { attemptId: 'a'.repeat(256) }],
    ['a fractional amount', { amount: { amountMinor: 10.5, currency: 'USD' } }],
    ['a lower-case currency', { amount: { amountMinor: 100, currency: 'usd' } }],
    ['more than 47 metadata keys', { metadata: Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`k${i}`, 'v'])) }],
    ['a metadata value over 500 characters', { metadata: { note: 'x'.repeat(501) } }],
  ])('refuses %s before sending, without echoing the card', (_scenario, change) => {
    const error = thrownBy(() => toPaymentIntentCreateForm({ ...authorizeRequestFixture, ...change }));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'invalid_request', connector: 'stripe' });
    expect(String((error as Error).message)).not.toContain('4242');
  });
});

describe('PaymentIntent status mapping', () => {
  const expected: Record<StripePaymentIntentStatus, AttemptStatus> = {
    succeeded: 'captured',
    requires_capture: 'authorized',
    requires_action: 'requires_action',
    processing: 'unknown',
    requires_confirmation: 'unknown',
    requires_payment_method: 'unknown',
    canceled: 'failed',
  };

  it('has an expectation for every status Stripe documents', () => {
    expect(Object.keys(expected).sort()).toEqual([...stripePaymentIntentStatuses].sort());
  });

  it.each(stripePaymentIntentStatuses.map((status) => [status, expected[status]] as const))('maps %s to %s', (status, ours) => {
    const outcome = paymentIntentToOutcome(paymentIntentFixture({ status }));
    expect(outcome.status).toBe(ours);
    expect(outcome.pspReference).toBe('pi_3PfixtureA1b2C3d4E5f6G7h8');
  });

  it('marks every unknown result as an unknown outcome so failover inquires first', () => {
    for (const status of ['processing', 'requires_confirmation', 'requires_payment_method'] as const) {
      expect(paymentIntentToOutcome(paymentIntentFixture({ status })).failureKind).toBe('unknown_outcome');
    }
  });

  it('reads a status Stripe adds later as unknown, never as success', () => {
    expect(paymentIntentToOutcome(paymentIntentFixture({ status: 'requires_reauthorization' }))).toMatchObject({
      status: 'unknown',
      failureKind: 'unknown_outcome',
    });
  });

  it('reads requires_payment_method with a card error as the decline it records', () => {
    const intent = cardErrorBodyFixture('card_declined', 'insufficient_funds').error.payment_intent!;
    expect(paymentIntentToOutcome(intent)).toMatchObject({ status: 'declined', failureCode: 'insufficient_funds', failureKind: 'hard_decline' });
  });

  it('carries the redirect of a 3-D Secure challenge', () => {
    const intent = paymentIntentFixture({
      status: 'requires_action',
      next_action: { type: 'redirect_to_url', redirect_to_url: { url: 'https://hooks.stripe.com/3d_secure/x' } },
    });
    expect(paymentIntentToOutcome(intent).nextAction).toEqual({ type: 'redirect_to_url', url: 'https://hooks.stripe.com/3d_secure/x' });
  });

  it('does not fail a canceled intent over to another connector', () => {
    const outcome = paymentIntentToOutcome(paymentIntentFixture({ status: 'canceled', cancellation_reason: 'abandoned' }));
    expect(outcome).toMatchObject({ status: 'failed', failureCode: 'payment_intent_canceled' });
    expect(outcome.failureKind).toBeUndefined();
  });
});

describe('Stripe answers as attempt results', () => {
  it.each([
    ['card_declined', 'generic_decline', 'card_declined'],
    ['card_declined', 'insufficient_funds', 'insufficient_funds'],
    ['card_declined', 'lost_card', 'lost_card'],
    ['card_declined', 'stolen_card', 'stolen_card'],
    ['expired_card', undefined, 'expired_card'],
    ['incorrect_cvc', undefined, 'incorrect_cvc'],
    ['card_declined', 'do_not_honor', 'do_not_honor'],
    ['incorrect_number', undefined, 'incorrect_number'],
  ])('reads a 402 %s/%s as a hard decline coded %s', (code, declineCode, failureCode) => {
    expect(answer(402, cardErrorBodyFixture(code, declineCode))).toEqual({
      status: 'declined',
      pspReference: 'pi_3PfixtureA1b2C3d4E5f6G7h8',
      failureCode,
      failureMessage: 'Your card was declined.',
      failureKind: 'hard_decline',
      pspLatencyMs: 42,
    });
  });

  it('carries the processing time the PSP reported beside the call time it measured', () => {
    const result = stripeResponseToAttemptResult({ status: 200, bodyText: JSON.stringify(paymentIntentFixture({ status: 'succeeded' })), latencyMs: 57, pspProcessingMs: 50.2 });
    expect(result).toMatchObject({ status: 'captured', pspLatencyMs: 57, pspProcessingMs: 50.2 });
  });

  it('leaves the processing time absent when the PSP reported none (Stripe itself does not)', () => {
    expect(answer(200, paymentIntentFixture({ status: 'succeeded' }))).not.toHaveProperty('pspProcessingMs');
  });

  it('reads a processing error as a soft decline another connector may retry', () => {
    expect(answer(402, cardErrorBodyFixture('processing_error', undefined, 'An error occurred while processing your card.'))).toMatchObject({
      status: 'failed',
      failureCode: 'processing_error',
      failureKind: 'soft_decline',
    });
  });

  it('reads a rate limit as retryable', () => {
    const body = { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests.' } };
    expect(answer(429, body)).toMatchObject({ status: 'failed', failureCode: 'rate_limit', failureKind: 'retryable' });
  });

  it.each([
    ['a 500 with a non-Stripe body', 500, '{"message":"upstream connect error"}'],
    ['a 503 from a proxy in HTML', 503, '<html>Service Unavailable</html>'],
    ['a Stripe api_error', 500, { error: { type: 'api_error', message: 'Something went wrong on our end.' } }],
    ['a 200 that is not a PaymentIntent', 200, '{"ok":true}'],
    ['a 409 while the same key is in flight', 409, { error: { type: 'invalid_request_error', code: 'idempotency_key_in_use', message: 'in use' } }],
  ])('reads %s as an unknown outcome, never a decline', (_scenario, status, body) => {
    expect(answer(status, body)).toMatchObject({ status: 'unknown', failureKind: 'unknown_outcome', pspLatencyMs: 42 });
  });

  it('reads an invalid request as a failure that must not fail over', () => {
    const body = { error: { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer' } };
    expect(answer(400, body)).toMatchObject({ status: 'failed', failureCode: 'parameter_invalid_integer', failureKind: 'invalid_request' });
  });

  it.each([401, 403])('throws an authentication error on HTTP %i', (status) => {
    const error = thrownBy(() => answer(status, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } }));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'authentication' });
  });

  it('throws when Stripe says the attempt id was reused with other parameters', () => {
    const body = { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters' } };
    expect(thrownBy(() => answer(400, body))).toMatchObject({ code: 'invalid_request' });
  });
});

describe('transport failures', () => {
  it('lets a request that never left fail over', () => {
    const result = transportErrorToAttemptResult(new HttpTransportError('not_sent', 3, 'POST /v1/payment_intents: ECONNREFUSED'));
    expect(result).toMatchObject({ status: 'failed', failureKind: 'retryable', pspLatencyMs: 3 });
  });

  it.each(['timeout', 'network'] as const)('reads a %s as an unknown outcome (the charge may exist)', (failure) => {
    const result = transportErrorToAttemptResult(new HttpTransportError(failure, 5000, 'POST /v1/payment_intents'));
    expect(result).toMatchObject({ status: 'unknown', failureKind: 'unknown_outcome', pspLatencyMs: 5000 });
  });
});

describe('connector registry', () => {
  it('refuses a connector name it does not know', () => {
    const error = thrownBy(() => createConnector('adyen' as 'stripe', { baseUrl: 'http://localhost:1', secretKey: 'k', timeoutMs: 1000 }));
    expect(error).toMatchObject({ code: 'unsupported' });
  });

  it('builds the Stripe connector with its declared capabilities', () => {
    const connector = createConnector('stripe', { baseUrl: 'http://localhost:1', secretKey: 'sk_test_x', timeoutMs: 1000 });
    expect(connector.name).toBe('stripe');
    expect(connector.capabilities).toEqual({ methods: ['card'], currencies: [], manualCapture: true });
  });
});
