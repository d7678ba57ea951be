import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { StripeConnector } from '@dirigen/connectors';
import type { PaymentEvent, RoutingDecision } from '@dirigen/payments';
import { cardFacts, cardPaymentRequested, foldPayment, newPaymentRef, PaymentProcessorIntEnv, PspSimulatorProcess, withMeta, type PaymentEventWithMeta } from '@dirigen/testing';
import type { DetokenizeResult, VaultCard } from '@dirigen/vault-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attemptIdFor, AuthorizationRunner, type GatewayVault } from './authorization-runner';
import { authorizationHandler } from './authorization.handler';
import { gatewayMigrations, gatewaySchema } from './gateway.migrations';

// The gateway's Kafka handler against the real broker, PostgreSQL and the PSP simulator (its own
// process), through the production Stripe connector. The vault is its port (GatewayVault) held in
// memory: the vault's own answers, cvc_expired after a restart included, are proven by its int and e2e tests.

const pspTimeoutMs = 5_000;
const merchantId = `mer_gateway_${randomBytes(4).toString('hex')}`;
const cards = {
  visa: '4242424242424242',
  declined: '4000000000000002',
  processingError: '4000000000000119',
  threeDSecure: '4000000000003220',
};

/** The vault as the gateway sees it: cards by token, and the tokens whose security code was lost. */
class MemoryVault implements GatewayVault {
  readonly cards = new Map<string, VaultCard>();
  readonly codesLost = new Set<string>();
  readonly released: string[] = [];
  async detokenizeBatch(requests: readonly { token: string }[]): Promise<DetokenizeResult[]> {
    return requests.map((request) => {
      const card = this.cards.get(request.token);
      if (!card) return { ok: false, code: 'token_not_found', message: 'The card token does not exist for this merchant.' };
      if (this.codesLost.has(request.token)) return { ok: false, code: 'cvc_expired', message: 'The card security code expired before authorization; the customer must enter it again.' };
      return { ok: true, card };
    });
  }
  async releaseSecurityCodes(requests: readonly { token: string }[]): Promise<void> {
    this.released.push(...requests.map((request) => request.token));
  }
}

let simulator: PspSimulatorProcess;
let env: PaymentProcessorIntEnv;
const vault = new MemoryVault();
const connectors: StripeConnector[] = [];

function stripeConnector(): StripeConnector {
  const connector = new StripeConnector({ baseUrl: simulator.baseUrl, secretKey: 'sk_test_gateway_int', timeoutMs: pspTimeoutMs, maxSockets: 8 });
  connectors.push(connector);
  return connector;
}

beforeAll(async () => {
  simulator = await PspSimulatorProcess.start();
  const runner = new AuthorizationRunner(new Map([['stripe', stripeConnector()]]), vault);
  env = await PaymentProcessorIntEnv.start({ consumer: 'gateway', schema: gatewaySchema, migrations: gatewayMigrations, define: () => authorizationHandler(runner) });
});

afterEach(async () => {
  await simulator.control({ error_rate: 0 });
  // Every event here is well-formed and the database is up: any handler error is a failure.
  expect(env.handlerFailures).toEqual([]);
});

afterAll(async () => {
  connectors.forEach((connector) => connector.close());
  await env?.stop();
  await simulator?.stop();
});

/** A card payment requested and routed to `candidates`, its card in the vault: the events the gateway consumes. */
function routedPayment(cardNumber: string, options: { captureMethod?: 'automatic' | 'manual'; candidates?: RoutingDecision['candidates'] } = {}): PaymentEventWithMeta[] {
  const payment = newPaymentRef(merchantId);
  const card = cardFacts({ last4: cardNumber.slice(-4), bin: cardNumber.slice(0, 6) });
  vault.cards.set(card.token, { number: cardNumber, expMonth: card.expMonth, expYear: card.expYear, cvc: '123' });
  const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested({ captureMethod: options.captureMethod ?? 'automatic' }, card) });
  const routed = withMeta(payment, { type: 'payment.routed', data: { strategy: 'priority', rule: 'merchant_priority_list', candidates: options.candidates ?? [{ connector: 'stripe', score: 1 }], excluded: [] } }, requested.meta.eventId);
  return [requested, routed];
}

function tokenOf([requested]: PaymentEventWithMeta[]): string {
  if (requested!.event.type !== 'payment.requested') throw new Error('invariant: a history starts with payment.requested');
  return requested!.event.data.paymentMethod.card!.token;
}

/** Publishes the routing decision carrying the request, as routing sends it, and answers what the gateway produced once it handled it. */
async function authorized(history: PaymentEventWithMeta[]): Promise<PaymentEvent[]> {
  await env.publishCarrying([history[0]!], history[1]!);
  await env.waitUntilHandled(history[1]!.meta.eventId);
  return (await env.produced(history[0]!.meta.paymentId)).map(({ event }) => event);
}

describe('the gateway authorizes routed payments at the PSP and records the outcome', () => {
  it('captures an approved card: one attempt under the deterministic attempt id, the payment succeeded, the security code released', async () => {
    const history = routedPayment(cards.visa);
    const before = await simulator.stats();
    const produced = await authorized(history);
    expect(produced).toEqual([
      {
        type: 'payment.attempt_completed',
        data: { attemptId: attemptIdFor(history[1]!.meta.eventId, 0), connector: 'stripe', status: 'captured', pspReference: expect.stringMatching(/^pi_/), latencyMs: expect.any(Number), pspProcessingMs: expect.any(Number) },
      },
      { type: 'payment.succeeded', data: { amountCaptured: { amountMinor: 2_000, currency: 'USD' }, connector: 'stripe' } },
    ]);
    expect((await simulator.stats()).authorizations.approved - before.authorizations.approved).toBe(1);
    expect(vault.released).toContain(tokenOf(history));
  });

  it("sends the attempt id as the PSP's Idempotency-Key: the PSP refuses that key with other parameters", async () => {
    const history = routedPayment(cards.visa);
    await authorized(history);
    const response = await fetch(`${simulator.baseUrl}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_gateway_int', 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': attemptIdFor(history[1]!.meta.eventId, 0) },
      body: new URLSearchParams({ amount: '1', currency: 'usd' }).toString(),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'idempotency_error' } });
  });

  it('holds a manual-capture payment at authorized', async () => {
    const produced = await authorized(routedPayment(cards.visa, { captureMethod: 'manual' }));
    expect(produced.map((event) => event.type)).toEqual(['payment.attempt_completed', 'payment.authorized']);
    expect(produced[0]).toMatchObject({ data: { status: 'authorized' } });
  });

  it('fails a hard decline with the PSP code after one PSP call', async () => {
    const before = await simulator.stats();
    const produced = await authorized(routedPayment(cards.declined));
    expect(produced).toEqual([
      { type: 'payment.attempt_completed', data: expect.objectContaining({ status: 'declined', failureCode: 'card_declined', failureKind: 'hard_decline', pspReference: expect.stringMatching(/^pi_/) }) },
      { type: 'payment.failed', data: { failureCode: 'card_declined', failureMessage: 'Your card was declined.' } },
    ]);
    const after = await simulator.stats();
    expect(after.requests_served - before.requests_served).toBe(1);
    expect(after.authorizations.declined - before.authorizations.declined).toBe(1);
  });

  it('fails a processing error as a soft decline (one another connector may retry)', async () => {
    const produced = await authorized(routedPayment(cards.processingError));
    expect(produced[0]).toMatchObject({ type: 'payment.attempt_completed', data: { status: 'failed', failureCode: 'processing_error', failureKind: 'soft_decline' } });
    expect(produced[1]).toMatchObject({ type: 'payment.failed', data: { failureCode: 'processing_error' } });
  });

  it('records an unknown PSP outcome as unknown: the payment stays open and the security code is kept for the inquiry', async () => {
    await simulator.control({ error_rate: 1 });
    const history = routedPayment(cards.visa);
    const produced = await authorized(history);
    expect(produced).toEqual([{ type: 'payment.attempt_completed', data: expect.objectContaining({ status: 'unknown', failureKind: 'unknown_outcome', failureCode: 'psp_error' }) }]);
    expect(vault.released).not.toContain(tokenOf(history));
  });

  it('records the redirect a 3-D Secure card requires as requires_action, not as final', async () => {
    const produced = await authorized(routedPayment(cards.threeDSecure));
    expect(produced).toEqual([{ type: 'payment.attempt_completed', data: expect.objectContaining({ status: 'requires_action' }) }]);
  });

  it('fails with cvc_expired, never authorizing, when the vault lost the security code and the PSP never saw the attempt', async () => {
    const history = routedPayment(cards.visa);
    vault.codesLost.add(tokenOf(history));
    const before = await simulator.stats();
    const produced = await authorized(history);
    expect(produced).toEqual([
      { type: 'payment.attempt_completed', data: expect.objectContaining({ connector: 'stripe', status: 'failed', failureCode: 'cvc_expired', failureKind: 'hard_decline' }) },
      { type: 'payment.failed', data: { failureCode: 'cvc_expired', failureMessage: expect.stringContaining('security code') } },
    ]);
    const after = await simulator.stats();
    // One request only: the status inquiry by attempt id, which found nothing.
    expect(after.requests_served - before.requests_served).toBe(1);
    expect(after.authorizations).toEqual(before.authorizations);
  });

  it('fails as retryable a payment routed to a connector this gateway does not have, never calling a PSP', async () => {
    const before = await simulator.stats();
    const produced = await authorized(routedPayment(cards.visa, { candidates: [{ connector: 'adyen', score: 1 }] }));
    expect(produced[0]).toMatchObject({ data: { connector: 'adyen', status: 'failed', failureCode: 'connector_not_configured', failureKind: 'retryable' } });
    expect((await simulator.stats()).requests_served).toBe(before.requests_served);
  });
});

describe('the gateway never charges twice for a redelivered payment.routed', () => {
  it('replays the PSP call with the same key and body when a replica died after the PSP answered and before it committed', async () => {
    const history = routedPayment(cards.visa);
    const [requested, routed] = history;
    const atStart = await simulator.stats();
    // The replica that died: it ran the PSP call (the handler's `prepare`) and never committed the outcome.
    const dyingReplica = new AuthorizationRunner(new Map([['stripe', stripeConnector()]]), vault);
    const item = { event: routed!.event, meta: routed!.meta, payment: foldPayment([requested!, routed!]), traceContext: ROOT_CONTEXT };
    const lostAnswer = (await dyingReplica.run([item])).get(routed!.meta.eventId)!;
    expect(lostAnswer).toMatchObject({ status: 'captured', pspReference: expect.stringMatching(/^pi_/) });
    const before = await simulator.stats();

    const produced = await authorized(history);
    const after = await simulator.stats();
    expect(produced[0]).toMatchObject({ type: 'payment.attempt_completed', data: { attemptId: lostAnswer.attemptId, status: 'captured', pspReference: lostAnswer.pspReference } });
    expect(produced[1]).toMatchObject({ type: 'payment.succeeded' });
    expect(after.idempotent_replays - before.idempotent_replays).toBe(1);
    expect(after.idempotency_conflicts - before.idempotency_conflicts).toBe(0);
    // One charge in all: the redelivery got the first answer back.
    expect(after.authorizations.approved - atStart.authorizations.approved).toBe(1);
  });

  it('records the charge, found by a status inquiry, when a replica died after the PSP answered and the security code was lost before the redelivery', async () => {
    const history = routedPayment(cards.visa);
    const [requested, routed] = history;
    const dyingReplica = new AuthorizationRunner(new Map([['stripe', stripeConnector()]]), vault);
    const item = { event: routed!.event, meta: routed!.meta, payment: foldPayment([requested!, routed!]), traceContext: ROOT_CONTEXT };
    const lostAnswer = (await dyingReplica.run([item])).get(routed!.meta.eventId)!;
    // The code goes (a PostgreSQL crash empties the vault's unlogged table) before the event comes back.
    vault.codesLost.add(tokenOf(history));
    const before = await simulator.stats();
    const produced = await authorized(history);
    const after = await simulator.stats();
    expect(produced[0]).toMatchObject({ type: 'payment.attempt_completed', data: { attemptId: lostAnswer.attemptId, status: 'captured', pspReference: lostAnswer.pspReference } });
    expect(produced[1]).toMatchObject({ type: 'payment.succeeded' });
    expect(after.authorizations).toEqual(before.authorizations);
    expect(after.idempotency_conflicts).toBe(before.idempotency_conflicts);
  });

  it('does not call the PSP again for a payment.routed redelivered after its outcome was committed', async () => {
    const history = routedPayment(cards.visa);
    const first = await authorized(history);
    const before = await simulator.stats();
    await env.publishCarrying([history[0]!], history[1]!, history[1]!);
    await env.waitUntilHandled(history[1]!.meta.eventId, 3);
    expect((await simulator.stats()).requests_served).toBe(before.requests_served);
    expect((await env.produced(history[0]!.meta.paymentId)).map(({ event }) => event)).toEqual(first);
  });
});
