import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectorError, StripeConnector, type AuthorizeRequest } from '@dirigen/connectors';
import { startSimulator, type RunningSimulator } from './simulator';

// Drives the simulator with the production Stripe connector, so both sides of the wire are checked together.

const connectorTimeoutMs = 2_000;
let simulator: RunningSimulator;
let baseUrl: string;
let stripe: StripeConnector;
let attemptCounter = 0;

function authorizeRequest(cardNumber: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  attemptCounter += 1;
  return {
    attemptId: `att_int_${Date.now()}_${attemptCounter}`,
    paymentId: `pay_int_${attemptCounter}`,
    merchantId: 'mer_int',
    amount: { amountMinor: 2000, currency: 'USD' },
    captureMethod: 'automatic',
    card: { number: cardNumber, expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvc: '123' },
    metadata: { order_id: String(attemptCounter) },
    ...overrides,
  };
}

async function control(body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${baseUrl}/_sim/control`, { method: 'POST', body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function stats(): Promise<{ authorizations: Record<string, number>; idempotent_replays: number; injected: Record<string, number> }> {
  return (await fetch(`${baseUrl}/_sim/stats`)).json() as never;
}

/** A raw Stripe call, as the official SDK would make it, for the flows the connector does not drive. */
async function stripePost(path: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_dirigen_int', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  simulator = await startSimulator({ port: 0, host: '127.0.0.1', latencyMs: 0 });
  baseUrl = `http://127.0.0.1:${simulator.port}`;
  stripe = new StripeConnector({ baseUrl, secretKey: 'sk_test_dirigen_int', timeoutMs: connectorTimeoutMs });
});

afterAll(async () => {
  stripe?.close();
  await simulator?.close();
});

beforeEach(async () => {
  expect((await fetch(`${baseUrl}/_sim/reset`, { method: 'POST' })).status).toBe(200);
});

describe('Stripe connector against the Stripe simulator', () => {
  it('captures an approved card with automatic capture', async () => {
    const result = await stripe.authorize(authorizeRequest('4242424242424242'));
    expect(result).toMatchObject({ status: 'captured', pspReference: expect.stringMatching(/^pi_/) });
    expect(result.failureKind).toBeUndefined();
  });

  it('only authorizes an approved card with manual capture, and retrieve agrees', async () => {
    const result = await stripe.authorize(authorizeRequest('5555555555554444', { captureMethod: 'manual' }));
    expect(result.status).toBe('authorized');
    expect(await stripe.retrieve(result.pspReference!)).toMatchObject({ status: 'authorized', pspReference: result.pspReference });
  });

  it('reports a hard decline that must not fail over', async () => {
    const result = await stripe.authorize(authorizeRequest('4000000000000002'));
    expect(result).toMatchObject({ status: 'declined', failureCode: 'card_declined', failureKind: 'hard_decline', pspReference: expect.stringMatching(/^pi_/) });
    expect(await stripe.retrieve(result.pspReference!)).toMatchObject({ status: 'declined', failureCode: 'card_declined' });
  });

  it('reports insufficient funds as a hard decline', async () => {
    const result = await stripe.authorize(authorizeRequest('4000000000009995'));
    expect(result).toMatchObject({ status: 'declined', failureCode: 'insufficient_funds', failureKind: 'hard_decline' });
  });

  it('reports a processing error as a soft decline another connector may retry', async () => {
    const result = await stripe.authorize(authorizeRequest('4000000000000119'));
    expect(result).toMatchObject({ status: 'failed', failureCode: 'processing_error', failureKind: 'soft_decline' });
  });

  it('asks for 3-D Secure with a redirect that, once followed, captures the payment', async () => {
    const result = await stripe.authorize(authorizeRequest('4000000000003220'));
    expect(result).toMatchObject({ status: 'requires_action', nextAction: { type: 'redirect_to_url', url: expect.stringContaining('/_sim/3ds/pi_') } });
    expect((await fetch(result.nextAction!.url)).status).toBe(200);
    expect(await stripe.retrieve(result.pspReference!)).toMatchObject({ status: 'captured' });
  });

  it('replays the first answer for a repeated attempt id and charges once', async () => {
    const request = authorizeRequest('4242424242424242');
    const first = await stripe.authorize(request);
    const replay = await stripe.authorize(request);
    expect(replay.pspReference).toBe(first.pspReference);
    expect(replay.status).toBe('captured');
    const after = await stats();
    expect(after.authorizations['approved']).toBe(1);
    expect(after.idempotent_replays).toBe(1);
  });

  it('makes a concurrent replay wait for the first request instead of charging again', async () => {
    await control({ latency_ms: 150 });
    const request = authorizeRequest('4242424242424242');
    const [first, second] = await Promise.all([stripe.authorize(request), stripe.authorize(request)]);
    expect(second.pspReference).toBe(first.pspReference);
    expect((await stats()).authorizations['approved']).toBe(1);
  });

  it('refuses a reused attempt id with another amount', async () => {
    const request = authorizeRequest('4242424242424242');
    await stripe.authorize(request);
    const error = await stripe.authorize({ ...request, amount: { amountMinor: 9999, currency: 'USD' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'invalid_request' });
  });

  it('throws an authentication error for a key Stripe would refuse', async () => {
    const livekey = new StripeConnector({ baseUrl, secretKey: 'sk_live_nope', timeoutMs: connectorTimeoutMs });
    const error = await livekey.authorize(authorizeRequest('4242424242424242')).catch((caught: unknown) => caught);
    livekey.close();
    expect(error).toMatchObject({ code: 'authentication' });
  });

  it('reports an outage as an unknown outcome without throwing', async () => {
    await control({ outage: true });
    const result = await stripe.authorize(authorizeRequest('4242424242424242'));
    expect(result).toMatchObject({ status: 'unknown', failureKind: 'unknown_outcome' });
    expect((await stats()).injected['outage_rejections']).toBe(1);
  });

  it('reads an injected 500 with a non-Stripe body as unknown, never as a decline', async () => {
    await control({ error_rate: 1 });
    expect(await stripe.authorize(authorizeRequest('4242424242424242'))).toMatchObject({ status: 'unknown', failureKind: 'unknown_outcome' });
  });

  it('reports a lost answer as unknown, and the replay finds the charge that did happen', async () => {
    const impatient = new StripeConnector({ baseUrl, secretKey: 'sk_test_dirigen_int', timeoutMs: 300 });
    await control({ timeout_rate: 1 });
    const request = authorizeRequest('4242424242424242');
    const lost = await impatient.authorize(request);
    impatient.close();
    expect(lost).toMatchObject({ status: 'unknown', failureCode: 'psp_timeout', failureKind: 'unknown_outcome' });
    expect(lost.pspLatencyMs).toBeGreaterThanOrEqual(300);

    await control({ timeout_rate: 0 });
    const replay = await stripe.authorize(request);
    expect(replay).toMatchObject({ status: 'captured', pspReference: expect.stringMatching(/^pi_/) });
    expect((await stats()).authorizations['approved']).toBe(1);
  });

  it('adds the configured latency before answering', async () => {
    const latencyMs = 200;
    await control({ latency_ms: latencyMs });
    const result = await stripe.authorize(authorizeRequest('4242424242424242'));
    expect(result.status).toBe('captured');
    expect(result.pspLatencyMs).toBeGreaterThanOrEqual(latencyMs - 5); // timers may fire a hair early
    expect(result.pspLatencyMs).toBeLessThan(latencyMs + 500);
  });

  it('reports its own processing time, latency included, and the connector carries it beside the call time', async () => {
    const latencyMs = 120;
    await control({ latency_ms: latencyMs });
    const result = await stripe.authorize(authorizeRequest('4242424242424242'));
    expect(result.pspProcessingMs).toBeGreaterThanOrEqual(latencyMs - 5); // timers may fire a hair early
    expect(result.pspProcessingMs).toBeLessThanOrEqual(result.pspLatencyMs + 1); // the call's time is rounded to whole ms
  });

  it('sends Server-Timing on every Stripe answer, errors included, and never on the control API', async () => {
    await control({ outage: true });
    const outage = await fetch(`${baseUrl}/v1/payment_intents`, { method: 'POST', headers: { authorization: 'Bearer sk_test_x' }, body: '' });
    expect(outage.status).toBe(503);
    expect(outage.headers.get('server-timing')).toMatch(/^psp;dur=\d+\.\d$/);
    await control({ outage: false });
    const missing = await fetch(`${baseUrl}/v1/payment_intents/pi_missing`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('server-timing')).toMatch(/^psp;dur=\d+\.\d$/);
    expect((await fetch(`${baseUrl}/_sim/health`)).headers.get('server-timing')).toBeNull();
  });

  it('lets a payment fail over when the PSP cannot be reached at all', async () => {
    const closed = await startSimulator({ port: 0, host: '127.0.0.1' });
    const port = closed.port;
    await closed.close();
    const unreachable = new StripeConnector({ baseUrl: `http://127.0.0.1:${port}`, secretKey: 'sk_test_x', timeoutMs: connectorTimeoutMs });
    const result = await unreachable.authorize(authorizeRequest('4242424242424242'));
    unreachable.close();
    expect(result).toMatchObject({ status: 'failed', failureCode: 'psp_unreachable', failureKind: 'retryable' });
  });
});

describe('Stripe simulator PaymentIntent lifecycle', () => {
  it('runs the manual-capture flow: create, confirm, capture part of the amount', async () => {
    const created = await stripePost('/v1/payment_intents', { amount: '5000', currency: 'eur', capture_method: 'manual', payment_method: 'pm_card_visa' });
    expect(created.body).toMatchObject({ status: 'requires_confirmation', object: 'payment_intent', livemode: false });
    expect(created.body['client_secret']).toMatch(new RegExp(`^${String(created.body['id'])}_secret_`));
    const confirmed = await stripePost(`/v1/payment_intents/${String(created.body['id'])}/confirm`, {});
    expect(confirmed.body).toMatchObject({ status: 'requires_capture', amount_capturable: 5000, latest_charge: expect.stringMatching(/^ch_/) });
    const captured = await stripePost(`/v1/payment_intents/${String(created.body['id'])}/capture`, { amount_to_capture: '3000' });
    expect(captured.body).toMatchObject({ status: 'succeeded', amount_received: 3000, amount_capturable: 0 });
  });

  it('cancels an authorized intent and refuses to capture it afterwards', async () => {
    const authorized = await stripe.authorize(authorizeRequest('4242424242424242', { captureMethod: 'manual' }));
    const canceled = await stripePost(`/v1/payment_intents/${authorized.pspReference!}/cancel`, { cancellation_reason: 'requested_by_customer' });
    expect(canceled.body).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    const capture = await stripePost(`/v1/payment_intents/${authorized.pspReference!}/capture`, {});
    expect(capture.status).toBe(400);
    expect(capture.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state' } });
    expect(await stripe.retrieve(authorized.pspReference!)).toMatchObject({ status: 'failed', failureCode: 'payment_intent_canceled' });
  });

  it('answers an unknown PaymentIntent with a Stripe resource_missing error', async () => {
    const response = await fetch(`${baseUrl}/v1/payment_intents/pi_doesnotexist`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'resource_missing' } });
  });
});

describe('listing PaymentIntents (GET /v1/payment_intents)', () => {
  async function list(query: string): Promise<{ status: number; body: { object?: string; data: { id: string; metadata: Record<string, string> }[]; has_more: boolean } }> {
    const response = await fetch(`${baseUrl}/v1/payment_intents?${query}`, { headers: { authorization: 'Bearer sk_test_dirigen_int' } });
    return { status: response.status, body: (await response.json()) as never };
  }

  it('pages through every intent newest first, as Stripe lists them, with their metadata', async () => {
    const created: string[] = [];
    for (let index = 0; index < 5; index++) {
      const { body } = await stripePost('/v1/payment_intents', { amount: '100', currency: 'usd', 'metadata[n]': String(index) });
      created.push(body.id as string);
    }
    const first = await list('limit=2');
    expect(first.status).toBe(200);
    expect(first.body.object).toBe('list');
    expect(first.body.data.map((intent) => intent.id)).toEqual([created[4], created[3]]);
    expect(first.body.has_more).toBe(true);
    const rest = await list(`limit=100&starting_after=${created[3]}`);
    expect(rest.body.data.map((intent) => intent.metadata.n)).toEqual(['2', '1', '0']);
    expect(rest.body.has_more).toBe(false);
  });

  it('refuses a limit outside 1..100 and an unknown starting_after', async () => {
    expect((await list('limit=0')).status).toBe(400);
    expect((await list('limit=101')).status).toBe(400);
    expect((await list('starting_after=pi_nope')).status).toBe(404);
  });
});

describe('status inquiry by our own reference (GET /v1/payment_intents/search)', () => {
  it("finds an attempt's PaymentIntent by its dirigen_attempt_id, through the connector, and finds none for an attempt never sent", async () => {
    const request = authorizeRequest('4242424242424242');
    const authorized = await stripe.authorize(request);
    expect(authorized.status).toBe('captured');
    const found = await stripe.findAttempt(request.attemptId);
    expect(found).toMatchObject({ status: 'captured', pspReference: authorized.pspReference });
    expect(await stripe.findAttempt('att_never_sent_here')).toBeUndefined();
    const declined = authorizeRequest('4000000000000002');
    await stripe.authorize(declined);
    expect(await stripe.findAttempt(declined.attemptId)).toMatchObject({ status: 'declined', failureCode: 'card_declined' });
  });

  it('refuses a query it cannot answer, in Stripe\'s error shape', async () => {
    const response = await fetch(`${baseUrl}/v1/payment_intents/search?query=${encodeURIComponent("amount>100")}`, { headers: { authorization: 'Bearer sk_test_dirigen_int' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('refuses an attempt id that could change the query, before any request', async () => {
    await expect(stripe.findAttempt("att_x' OR metadata['a']:'b")).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
