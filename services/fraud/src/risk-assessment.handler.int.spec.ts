import { randomBytes } from 'node:crypto';
import { migrateServiceDatabase } from '@dirigen/persistence';
import { cardPaymentRequested, intDatabaseName, newPaymentRef, PaymentProcessorIntEnv, recreateDatabase, withMeta, type PaymentEventWithMeta } from '@dirigen/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fraudMigrations, fraudSchema, merchantDefaultsSql } from './fraud.migrations';
import { riskAssessmentHandler } from './risk-assessment.handler';
import { RiskProfiles } from './risk-profiles';

// The fraud service's Kafka handler against the real broker and PostgreSQL: its migrations, the
// merchant defaults it seeds, blocked BINs set up here, and the events it commits to its outbox.

let env: PaymentProcessorIntEnv;
const runId = randomBytes(4).toString('hex');
/** Merchants of this run: their profiles are read (and cached) once, so each is set up before its first payment. */
const merchant = `mer_fraud_${runId}`;
const otherMerchant = `mer_fraud_other_${runId}`;

beforeAll(async () => {
  env = await PaymentProcessorIntEnv.start({ consumer: 'fraud', schema: fraudSchema, migrations: fraudMigrations, define: () => riskAssessmentHandler(new RiskProfiles()) });
  for (const merchantId of [merchant, otherMerchant]) {
    const { sql, parameters } = merchantDefaultsSql(merchantId);
    await env.dataSource.query(sql, parameters);
  }
  await env.dataSource.query('INSERT INTO fraud.blocked_bins (merchant_id, bin, reason) VALUES ($1, $2, $3), ($4, $5, $6)', [
    merchant,
    '411111',
    'chargebacks from this BIN',
    '*',
    '422222',
    'BIN of a compromised issuer',
  ]);
});

afterEach(() => {
  // Every event here is well-formed and the database is up: any handler error is a failure.
  expect(env.handlerFailures).toEqual([]);
});

afterAll(async () => {
  await env?.stop();
});

/** Publishes a card payment request and answers what fraud produced for it. */
async function assess(merchantId: string, amountMinor: number, bin = '424242', currency = 'USD'): Promise<PaymentEventWithMeta[]> {
  const requested = withMeta(newPaymentRef(merchantId), { type: 'payment.requested', data: cardPaymentRequested({ amount: { amountMinor, currency } }, { bin }) });
  await env.publish(requested);
  await env.waitUntilHandled(requested.meta.eventId);
  return env.produced(requested.meta.paymentId);
}

describe('fraud scores each requested payment from the merchant profile in PostgreSQL', () => {
  it('approves a payment within the seeded limits: one risk_assessed, caused by the request', async () => {
    const produced = await assess(merchant, 2_000);
    expect(produced.map(({ event }) => event)).toEqual([{ type: 'payment.risk_assessed', data: { score: 0, decision: 'approve', reasons: [] } }]);
    expect(produced[0]!.meta).toMatchObject({ merchantId: merchant, producer: 'fraud-int' });
  });

  it('sends a payment above the seeded review threshold (5,000,000 USD minor units) to review, with the reason', async () => {
    const [assessed, ...rest] = await assess(merchant, 6_000_000);
    expect(assessed!.event).toMatchObject({ type: 'payment.risk_assessed', data: { decision: 'review', reasons: [{ code: 'amount_needs_review' }] } });
    expect(rest).toEqual([]);
  });

  it('declines above the seeded limit in the payment currency and fails the payment with risk_declined', async () => {
    const produced = await assess(merchant, 150_000_000_001, '424242', 'IDR');
    expect(produced.map(({ event }) => event.type)).toEqual(['payment.risk_assessed', 'payment.failed']);
    expect(produced[0]!.event).toMatchObject({ data: { decision: 'decline', score: 100, reasons: [{ code: 'amount_over_limit' }] } });
    expect(produced[1]!.event).toMatchObject({ data: { failureCode: 'risk_declined' } });
  });

  it("declines a BIN blocked for the merchant, with the block's reason, and only for that merchant", async () => {
    const blocked = await assess(merchant, 2_000, '411111');
    expect(blocked[0]!.event).toEqual({
      type: 'payment.risk_assessed',
      data: { score: 100, decision: 'decline', reasons: [{ code: 'bin_blocked', message: 'Card BIN 411111 is blocked: chargebacks from this BIN.', scoreContribution: 100 }] },
    });
    expect((await assess(otherMerchant, 2_000, '411111'))[0]!.event).toMatchObject({ data: { decision: 'approve' } });
  });

  it("declines a BIN blocked for every merchant ('*') for any merchant", async () => {
    for (const merchantId of [merchant, otherMerchant]) {
      expect((await assess(merchantId, 2_000, '422222'))[0]!.event).toMatchObject({ data: { decision: 'decline', reasons: [{ code: 'bin_blocked', message: expect.stringContaining('compromised issuer') }] } });
    }
  });

  it('blocks no BIN that test set-up did not block: the production migrations seed no test data', async () => {
    expect(await env.dataSource.query("SELECT merchant_id, bin FROM fraud.blocked_bins WHERE merchant_id = '*' ORDER BY bin")).toEqual([{ merchant_id: '*', bin: '422222' }]);
    expect((await assess(otherMerchant, 2_000, '400011'))[0]!.event).toMatchObject({ data: { decision: 'approve' } });
  });

  it('sends its decision on to routing carrying the request, so routing needs no copy of the payment', async () => {
    const requested = withMeta(newPaymentRef(merchant), { type: 'payment.requested', data: cardPaymentRequested({ amount: { amountMinor: 20_000_000, currency: 'USD' } }) });
    await env.publish(requested);
    await env.waitUntilHandled(requested.meta.eventId);
    const [assessed, failed] = await env.produced(requested.meta.paymentId);
    // The failure ends the payment: only the risk decision goes on to routing's topic, carrying the request.
    expect(env.producedToStages(requested.meta.paymentId)).toEqual([{ topic: 'dirigen.payment-risk-assessed.v1', ...assessed!, prior: [requested] }]);
    expect(failed!.event.type).toBe('payment.failed');
  });

  it('assesses a redelivered request again under the same event ids, which the stages after it de-duplicate', async () => {
    const requested = withMeta(newPaymentRef(merchant), { type: 'payment.requested', data: cardPaymentRequested({ amount: { amountMinor: 20_000_000, currency: 'USD' } }) });
    await env.publish(requested);
    await env.waitUntilHandled(requested.meta.eventId);
    const first = await env.produced(requested.meta.paymentId);
    // Redelivered after fraud sent its decision (it died before committing its offset), and twice in one batch.
    await env.publish(requested, requested);
    await env.waitUntilHandled(requested.meta.eventId, 3);
    const produced = await env.produced(requested.meta.paymentId);
    expect(produced.map(({ meta }) => meta.eventId)).toEqual([...first, ...first, ...first].map(({ meta }) => meta.eventId));
    expect(produced.map(({ event }) => event)).toEqual([...first, ...first, ...first].map(({ event }) => event));
  });
});

describe('fraud migrations', () => {
  it('remove the BIN block the first migration seeded from a database that has it, and keep blocks an operator added', async () => {
    const url = await recreateDatabase(intDatabaseName('fraud_upgrade'));
    const database = { url, schema: fraudSchema, applicationName: 'fraud-migrations.int.spec' };
    expect(await migrateServiceDatabase({ ...database, migrations: fraudMigrations.slice(0, 1) })).toEqual(['FraudInitial1764201600000']);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("INSERT INTO fraud.blocked_bins (merchant_id, bin, reason) VALUES ('mer_operator', '400011', 'blocked by the operator')");
      expect((await client.query("SELECT merchant_id FROM fraud.blocked_bins WHERE bin = '400011' ORDER BY merchant_id")).rows).toEqual([{ merchant_id: '*' }, { merchant_id: 'mer_operator' }]);
      expect(await migrateServiceDatabase({ ...database, migrations: fraudMigrations })).toEqual(['FraudRemoveSeededTestBin1796134800000']);
      expect((await client.query("SELECT merchant_id, reason FROM fraud.blocked_bins WHERE bin = '400011'")).rows).toEqual([{ merchant_id: 'mer_operator', reason: 'blocked by the operator' }]);
    } finally {
      await client.end();
    }
  });
});
