import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cardExpiryYear, cardPayment, eventually, platform, simulatorStats, testCards } from './support/api';
import { luhnValid } from './support/card-data-scan';

/** A BIN this file blocks for the development merchant: test data lives in test set-up, never in a migration. */
const blockedBin = { bin: '400011', reason: 'test BIN of reported fraud' };
/** The fraud service reads a merchant's profile at most this old (services/fraud/src/risk-profiles.ts, cacheTtlMs). */
const riskProfileCacheTtlMs = 5_000;

/** Writes to the fraud schema as the platform's admin (the e2e support's database URL). */
async function asAdmin(text: string, values: unknown[]): Promise<void> {
  const client = new pg.Client({ connectionString: platform.databaseUrl });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await asAdmin('INSERT INTO fraud.blocked_bins (merchant_id, bin, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [platform.merchantId, blockedBin.bin, blockedBin.reason]);
});

afterAll(async () => {
  await asAdmin('DELETE FROM fraud.blocked_bins WHERE merchant_id = $1 AND bin = $2', [platform.merchantId, blockedBin.bin]);
});

describe('a card payment, end to end through every service', () => {
  it('approves a Visa: succeeded, captured in full, routed and risk-scored with reasons', async () => {
    const created = await api('/v1/payments', { body: cardPayment({ description: 'order 1', metadata: { order_id: '1' }, customer: { email: 'a@example.com', country: 'US' } }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'payment',
      status: 'succeeded',
      amount: 2000,
      amount_captured: 2000,
      amount_refunded: 0,
      currency: 'USD',
      capture_method: 'automatic',
      connector: 'stripe',
      payment_method: { type: 'card', card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: cardExpiryYear } },
      routing: { strategy: 'priority', candidates: [{ connector: 'stripe', score: 1 }], excluded: [] },
      risk: { score: 0, decision: 'approve', reasons: [] },
      failure_code: null,
      metadata: { order_id: '1' },
      description: 'order 1',
    });
    expect(created.body.id).toMatch(/^pay_/);
    expect(created.body.payment_method.card.fingerprint).toMatch(/^[\w-]{32}$/);
    expect(created.body.attempts).toEqual([{ id: expect.stringMatching(/^att_/), connector: 'stripe', status: 'captured', failure_code: null, latency_ms: expect.any(Number), psp_processing_ms: expect.any(Number) }]);
    expect(JSON.stringify(created.body)).not.toContain(testCards.visa);

    const fetched = await api(`/v1/payments/${created.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
  });

  it('records the timeline in order: requested, risk assessed, routed, attempt, succeeded', async () => {
    const created = await api('/v1/payments', { body: cardPayment({}, { number: testCards.mastercard }) });
    const timeline = await api(`/v1/payments/${created.body.id}/events`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.data.map((event: { type: string }) => event.type)).toEqual([
      'payment.requested',
      'payment.risk_assessed',
      'payment.routed',
      'payment.attempt_completed',
      'payment.succeeded',
    ]);
    expect(JSON.stringify(timeline.body)).not.toContain(testCards.mastercard);
  });

  it('fails a hard decline with card_declined after exactly one attempt, never retried', async () => {
    const before = await simulatorStats();
    const created = await api('/v1/payments', { body: cardPayment({}, { number: testCards.declined }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'failed', failure_code: 'card_declined', amount_captured: 0 });
    expect(created.body.attempts).toHaveLength(1);
    expect(created.body.attempts[0]).toMatchObject({ status: 'declined', failure_code: 'card_declined' });
    expect((await simulatorStats()).authorizations.declined - before.authorizations.declined).toBe(1);
  });

  it('fails insufficient funds as a hard decline', async () => {
    const created = await api('/v1/payments', { body: cardPayment({}, { number: testCards.insufficientFunds }) });
    expect(created.body).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
  });

  it('holds a manual-capture payment at requires_capture with the amount capturable', async () => {
    const created = await api('/v1/payments', { body: cardPayment({ capture_method: 'manual', amount: 5000 }) });
    expect(created.body).toMatchObject({ status: 'requires_capture', amount_capturable: 5000, amount_captured: 0, capture_method: 'manual' });
  });

  it('declines above the merchant amount limit before any PSP call, with the reason', async () => {
    const before = await simulatorStats();
    const created = await api('/v1/payments', { body: cardPayment({ amount: 20_000_000 }) });
    expect(created.body).toMatchObject({ status: 'failed', failure_code: 'risk_declined', attempts: [], connector: null });
    expect(created.body.risk).toMatchObject({ decision: 'decline', score: 100, reasons: [{ code: 'amount_over_limit' }] });
    expect((await simulatorStats()).requests_served).toBe(before.requests_served);
  });

  it('declines a card whose BIN is on the blocklist, at the latest once the fraud profile cache expired', async () => {
    const card = { number: luhnComplete(`${blockedBin.bin}000000000`) };
    // A fraud replica may hold the merchant's profile from before the block for up to its cache TTL.
    const created = await eventually(async () => {
      const attempt = await api('/v1/payments', { body: cardPayment({}, card) });
      return attempt.body.risk?.decision === 'decline' ? attempt : undefined;
    }, riskProfileCacheTtlMs + 5_000, 500);
    expect(created.body).toMatchObject({
      status: 'failed',
      failure_code: 'risk_declined',
      attempts: [],
      risk: { decision: 'decline', reasons: [{ code: 'bin_blocked', message: `Card BIN ${blockedBin.bin} is blocked: ${blockedBin.reason}.` }] },
    });
  });

  it('sends a payment above the review threshold through with a review decision and reason', async () => {
    const created = await api('/v1/payments', { body: cardPayment({ amount: 6_000_000 }) });
    expect(created.body).toMatchObject({ status: 'succeeded', risk: { decision: 'review', reasons: [{ code: 'amount_needs_review' }] } });
  });
});

describe('reading payments', () => {
  it('lists newest first in pages, with has_more and starting_after', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) ids.push((await api('/v1/payments', { body: cardPayment({ amount: 100 + index }) })).body.id);
    const first = await api('/v1/payments?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((payment: { id: string }) => payment.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await api(`/v1/payments?limit=1&starting_after=${ids[1]}`);
    expect(second.body.data.map((payment: { id: string }) => payment.id)).toEqual([ids[0]]);
  });

  it('refuses page sizes outside 1..100', async () => {
    for (const limit of ['0', '101', 'ten']) {
      const response = await api(`/v1/payments?limit=${limit}`);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ type: 'invalid_request_error', param: 'limit' });
    }
  });

  it("keeps merchants apart: another merchant's payment is not found", async () => {
    const created = await api('/v1/payments', { body: cardPayment() });
    const asOther = await api(`/v1/payments/${created.body.id}`, { key: platform.otherMerchant.apiKey });
    expect(asOther.status).toBe(404);
    expect(asOther.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
    expect((await api(`/v1/payments/${created.body.id}/events`, { key: platform.otherMerchant.apiKey })).status).toBe(404);
    const otherList = await api('/v1/payments?limit=100', { key: platform.otherMerchant.apiKey });
    expect(otherList.body.data.map((payment: { id: string }) => payment.id)).not.toContain(created.body.id);
  });

  it('answers 404 in the contract shape for an unknown payment and an unknown route', async () => {
    expect(await api('/v1/payments/pay_doesnotexist')).toMatchObject({ status: 404, body: { error: { code: 'resource_missing' } } });
    expect(await api('/v1/nothing-here')).toMatchObject({ status: 404, body: { error: { type: 'invalid_request_error' } } });
  });
});

/** Appends the Luhn check digit. */
function luhnComplete(partial: string): string {
  const check = [...'0123456789'].find((digit) => luhnValid(`${partial}${digit}`))!;
  return `${partial}${check}`;
}
