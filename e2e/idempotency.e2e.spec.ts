import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, cardPayment, simulatorStats, sql } from './support/api';

describe('Idempotency-Key', () => {
  it('returns the same payment for a retry with the same key and body, and charges once', async () => {
    const key = randomUUID();
    const before = await simulatorStats();
    const first = await api('/v1/payments', { body: cardPayment({ amount: 777 }), headers: { 'idempotency-key': key } });
    const retry = await api('/v1/payments', { body: cardPayment({ amount: 777 }), headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await simulatorStats()).authorizations.approved - before.authorizations.approved).toBe(1);
  });

  it('refuses the same key with another body as an idempotency_error, and stores nothing new', async () => {
    const key = randomUUID();
    await api('/v1/payments', { body: cardPayment({ amount: 100 }), headers: { 'idempotency-key': key } });
    const [{ count: paymentsBefore }] = await sql('SELECT count(*) FROM intake.payments');
    const reused = await api('/v1/payments', { body: cardPayment({ amount: 101 }), headers: { 'idempotency-key': key } });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused' });
    const [{ count: paymentsAfter }] = await sql('SELECT count(*) FROM intake.payments');
    expect(paymentsAfter).toBe(paymentsBefore);
  });

  it('creates one payment for ten concurrent duplicates: each gets it, or 409 idempotency_key_in_use', async () => {
    const key = randomUUID();
    const before = await simulatorStats();
    const responses = await Promise.all(Array.from({ length: 10 }, () => api('/v1/payments', { body: cardPayment({ amount: 4242 }), headers: { 'idempotency-key': key } })));
    const ids = new Set(responses.filter((response) => response.status < 300).map((response) => response.body.id));
    expect(ids.size).toBe(1);
    for (const response of responses.filter((candidate) => candidate.status >= 300)) {
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_in_use' });
    }
    // Keys are kept only as their keyed hash: one row for the payment, and no trace of the key's text.
    const rows = await sql<{ row: string }>('SELECT to_jsonb(remembered)::text AS row FROM intake.idempotency_keys remembered WHERE payment_id = $1', [[...ids][0]]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.row).not.toContain(key);
    expect((await simulatorStats()).authorizations.approved - before.authorizations.approved).toBe(1);
  });

  it('keeps keys per merchant: the same key at two merchants makes two payments', async () => {
    const { platform } = await import('./support/api');
    const key = randomUUID();
    const mine = await api('/v1/payments', { body: cardPayment(), headers: { 'idempotency-key': key } });
    const theirs = await api('/v1/payments', { body: cardPayment(), headers: { 'idempotency-key': key }, key: platform.otherMerchant.apiKey });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });
});
