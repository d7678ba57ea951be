import { randomBytes } from 'node:crypto';
import type { RiskDecision } from '@dirigen/payments';
import { cardPaymentRequested, newPaymentRef, PaymentProcessorIntEnv, withMeta, type PaymentEventWithMeta } from '@dirigen/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MerchantRoutings } from './merchant-routing';
import { routingDecisionHandler } from './routing-decision.handler';
import { merchantDefaultsSql, routingMigrations, routingSchema } from './routing.migrations';

// The routing service's Kafka handler against the real broker and PostgreSQL: its migrations, the
// default route it seeds, routes set up here, and the events it commits to its outbox.

let env: PaymentProcessorIntEnv;
const runId = randomBytes(4).toString('hex');
/** Merchants of this run: routes are read (and cached) once, so each is set up before its first payment. */
const seededMerchant = `mer_routing_seeded_${runId}`;
const merchant = `mer_routing_${runId}`;

beforeAll(async () => {
  env = await PaymentProcessorIntEnv.start({ consumer: 'routing', schema: routingSchema, migrations: routingMigrations, define: () => routingDecisionHandler(new MerchantRoutings()) });
  await env.dataSource.query(merchantDefaultsSql, [seededMerchant]);
  await env.dataSource.query(
    `INSERT INTO routing.connector_routes (merchant_id, connector, priority, enabled, currencies, methods) VALUES
       ($1, 'adyen', 2, true, '{}', '{card}'),
       ($1, 'stripe', 1, true, '{USD,EUR}', '{card}'),
       ($1, 'midtrans', 3, true, '{IDR}', '{card,qris}'),
       ($1, 'paused', 0, false, '{}', '{card}'),
       ($1, 'xendit', 4, true, '{}', '{ewallet}')`,
    [merchant],
  );
});

afterEach(() => {
  // Every event here is well-formed and the database is up: any handler error is a failure.
  expect(env.handlerFailures).toEqual([]);
});

afterAll(async () => {
  await env?.stop();
});

/** What intake and fraud published for one payment. */
function assessedPayment(merchantId: string, decision: RiskDecision, currency = 'USD'): PaymentEventWithMeta[] {
  const payment = newPaymentRef(merchantId);
  const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested({ amount: { amountMinor: 2_000, currency } }) });
  const assessed = withMeta(payment, { type: 'payment.risk_assessed', data: { score: decision === 'approve' ? 0 : decision === 'review' ? 50 : 100, decision, reasons: [] } }, requested.meta.eventId);
  return [requested, assessed];
}

/** Publishes the risk decision carrying the request, as fraud sends it, and answers what routing sent once it handled it. */
async function routed(history: PaymentEventWithMeta[]): Promise<PaymentEventWithMeta[]> {
  await env.publishCarrying(history.slice(0, -1), history[history.length - 1]!);
  await env.waitUntilHandled(history[history.length - 1]!.meta.eventId);
  return env.produced(history[0]!.meta.paymentId);
}

describe("routing chooses connectors from the merchant's routes in PostgreSQL", () => {
  it('routes a new merchant to the seeded Stripe route', async () => {
    const produced = await routed(assessedPayment(seededMerchant, 'approve'));
    expect(produced.map(({ event }) => event)).toEqual([
      { type: 'payment.routed', data: { strategy: 'priority', rule: 'merchant_priority_list', candidates: [{ connector: 'stripe', score: 1 }], excluded: [] } },
    ]);
  });

  it('lists the candidates in priority order and explains why the others were excluded', async () => {
    const [first, ...rest] = await routed(assessedPayment(merchant, 'approve', 'EUR'));
    expect(first!.event).toEqual({
      type: 'payment.routed',
      data: {
        strategy: 'priority',
        rule: 'merchant_priority_list',
        candidates: [
          { connector: 'stripe', score: 1 },
          { connector: 'adyen', score: 0.5 },
        ],
        excluded: [
          { connector: 'paused', reason: 'disabled by the merchant' },
          { connector: 'midtrans', reason: 'does not support EUR' },
          { connector: 'xendit', reason: 'does not support card' },
        ],
      },
    });
    expect(rest).toEqual([]);
  });

  it('routes by the payment currency: IDR goes to the connectors that take it, in their order', async () => {
    const [first] = await routed(assessedPayment(merchant, 'review', 'IDR'));
    expect(first!.event).toMatchObject({ data: { candidates: [{ connector: 'adyen' }, { connector: 'midtrans' }] } });
  });

  it('fails a payment no connector can take with no_connector_available', async () => {
    const produced = await routed(assessedPayment(`mer_routing_none_${runId}`, 'approve'));
    expect(produced.map(({ event }) => event.type)).toEqual(['payment.routed', 'payment.failed']);
    expect(produced[1]!.event).toMatchObject({ data: { failureCode: 'no_connector_available' } });
  });

  it('routes nothing for a payment risk declined', async () => {
    expect(await routed(assessedPayment(merchant, 'decline'))).toEqual([]);
  });

  it('carries the request and the risk decision on to the gateway, so no stage after it needs a copy of the payment', async () => {
    const history = assessedPayment(merchant, 'approve');
    const [decision] = await routed(history);
    expect(env.producedToStages(history[0]!.meta.paymentId)).toEqual([{ topic: 'dirigen.payment-routed.v1', ...decision!, prior: history }]);
    expect(decision!.meta.causationId).toBe(history[1]!.meta.eventId);
  });

  it('routes a redelivered risk decision again under the same event id, which the stages after it de-duplicate', async () => {
    const history = assessedPayment(merchant, 'approve');
    const [first] = await routed(history);
    const assessed = history[1]!;
    // Redelivered after routing sent its decision (it died before committing its offset), and twice in one batch.
    await env.publishCarrying([history[0]!], assessed, assessed);
    await env.waitUntilHandled(assessed.meta.eventId, 3);
    const produced = await env.produced(assessed.meta.paymentId);
    expect(produced.map(({ event }) => event.type)).toEqual(['payment.routed', 'payment.routed', 'payment.routed']);
    expect(new Set(produced.map(({ meta }) => meta.eventId))).toEqual(new Set([first!.meta.eventId]));
    expect(produced.map(({ event }) => event)).toEqual([first!.event, first!.event, first!.event]);
  });

  it('dead-letters a risk decision that carries no request: it cannot be routed, and retrying cannot change that', async () => {
    const [, assessed] = assessedPayment(merchant, 'approve');
    await env.publish(assessed!);
    await env.waitUntilDeadLettered(assessed!.meta.eventId);
    expect(await env.produced(assessed!.meta.paymentId)).toEqual([]);
    env.forgetHandlerFailures();
  });
});
