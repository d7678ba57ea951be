import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, cardExpiryYear, cardPayment, eventually, platform, sql, testCards } from './support/api';
import { vaultAs } from './support/vault';

const card = { number: testCards.visa, exp_month: 12, exp_year: cardExpiryYear, cvc: '123' };

async function saveCard(key?: string) {
  return api('/v1/tokens', { body: { card }, ...(key ? { key } : {}) });
}

async function vaultCards(): Promise<number> {
  const [{ count }] = await sql<{ count: string }>('SELECT count(*) FROM vault.cards');
  return Number(count);
}

function tokenPayment(token: string, cvc?: string) {
  return { amount: 1500, currency: 'USD', payment_method: { type: 'card', token, ...(cvc !== undefined ? { cvc } : {}) } };
}

describe('saved cards (POST /v1/tokens) and payments with a token', () => {
  it('saves a card as a token with its facts, never the number', async () => {
    const saved = await saveCard();
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ id: expect.stringMatching(/^tok_/), object: 'token', card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: cardExpiryYear } });
    expect(JSON.stringify(saved.body)).not.toContain(testCards.visa);
  });

  it('pays with the token, then again with the card on file once the security code is gone', async () => {
    const { body: token } = await saveCard();
    const first = await api('/v1/payments', { body: tokenPayment(token.id) });
    expect(first.body).toMatchObject({ status: 'succeeded', payment_method: { card: { last4: '4242', fingerprint: token.card.fingerprint } } });
    const second = await api('/v1/payments', { body: tokenPayment(token.id) });
    expect(second.body).toMatchObject({ status: 'succeeded', amount_captured: 1500 });
  });

  it("refuses another merchant's token without storing anything", async () => {
    const { body: token } = await saveCard();
    const [{ count: before }] = await sql('SELECT count(*) FROM intake.payments');
    const response = await api('/v1/payments', { body: tokenPayment(token.id), key: platform.otherMerchant.apiKey });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'resource_missing', param: 'payment_method.token' });
    const [{ count: after }] = await sql('SELECT count(*) FROM intake.payments');
    expect(after).toBe(before);
  });

  it('destroys a deleted token: its vault record is gone and it pays no more', async () => {
    const { body: token } = await saveCard();
    expect(await api(`/v1/tokens/${token.id}`, { method: 'DELETE' })).toMatchObject({ status: 200, body: { id: token.id, deleted: true } });
    expect(await sql('SELECT 1 FROM vault.cards WHERE token = $1', [token.id])).toEqual([]);
    expect((await api('/v1/payments', { body: tokenPayment(token.id) })).status).toBe(400);
    expect((await api(`/v1/tokens/${token.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it("will not let another merchant delete a token", async () => {
    const { body: token } = await saveCard();
    expect((await api(`/v1/tokens/${token.id}`, { method: 'DELETE', key: platform.otherMerchant.apiKey })).status).toBe(404);
    expect(await sql('SELECT 1 FROM vault.cards WHERE token = $1', [token.id])).toHaveLength(1);
  });

  it('refuses an invalid card with the field named, and a payment naming both a card and a token', async () => {
    const invalid = await api('/v1/tokens', { body: { card: { ...card, number: '4242424242424241' } } });
    expect(invalid).toMatchObject({ status: 402, body: { error: { type: 'card_error', code: 'invalid_number', param: 'card.number' } } });
    const both = await api('/v1/payments', { body: { ...cardPayment(), payment_method: { type: 'card', card, token: 'tok_x' } } });
    expect(both).toMatchObject({ status: 400, body: { error: { code: 'parameter_conflict' } } });
  });

  it('pays with the token and a security code given at payment time, then erases that code', async () => {
    const { body: token } = await saveCard();
    expect((await api('/v1/payments', { body: tokenPayment(token.id) })).body.status).toBe('succeeded');
    const paid = await api('/v1/payments', { body: tokenPayment(token.id, '321') });
    expect(paid.body).toMatchObject({ status: 'succeeded', amount_captured: 1500, payment_method: { card: { last4: '4242' } } });
    // The code was held sealed, and erased once the gateway recorded the attempt; the record that one was held stays.
    await eventually(async () => ((await sql('SELECT 1 FROM vault.held_security_codes WHERE token = $1', [token.id])).length === 0 ? true : undefined));
    expect(await sql('SELECT 1 FROM vault.security_code_holds WHERE token = $1 AND payment_id = $2', [token.id, paid.body.id])).toHaveLength(1);
    // That payment's authorization again (a late duplicate) gets no card without its code; another payment gets the card on file.
    const again = await vaultAs('gateway').detokenize({ merchantId: platform.merchantId, token: token.id, paymentId: paid.body.id, purpose: 'probe' });
    expect(again).toMatchObject({ ok: false, code: 'cvc_expired' });
    const detokenized = await vaultAs('gateway').detokenize({ merchantId: platform.merchantId, token: token.id, paymentId: 'pay_another', purpose: 'probe' });
    expect(detokenized.ok && Object.keys(detokenized.card).sort()).toEqual(['expMonth', 'expYear', 'number']);
    const [audit] = await sql("SELECT outcome FROM vault.detokenize_audit WHERE payment_id = $1 AND purpose = 'authorization'", [paid.body.id]);
    expect(audit).toEqual({ outcome: 'released' });
  });

  it("refuses a payment-time security code of the wrong length for the card's brand, naming the field, without a payment", async () => {
    const { body: token } = await saveCard();
    const [{ count: before }] = await sql('SELECT count(*) FROM intake.payments');
    const wrong = await api('/v1/payments', { body: tokenPayment(token.id, '1234') });
    expect(wrong).toMatchObject({ status: 402, body: { error: { type: 'card_error', code: 'invalid_cvc', param: 'payment_method.cvc' } } });
    const malformed = await api('/v1/payments', { body: tokenPayment(token.id, '12') });
    expect(malformed).toMatchObject({ status: 400, body: { error: { param: 'payment_method.cvc' } } });
    const withCard = await api('/v1/payments', { body: { ...cardPayment(), payment_method: { type: 'card', card, cvc: '123' } } });
    expect(withCard).toMatchObject({ status: 400, body: { error: { code: 'parameter_conflict', param: 'payment_method.cvc' } } });
    const [{ count: after }] = await sql('SELECT count(*) FROM intake.payments');
    expect(after).toBe(before);
    expect(await sql('SELECT 1 FROM vault.security_code_holds WHERE token = $1', [token.id])).toEqual([]);
  });
});

describe('what a card is stored for', () => {
  it("keeps a saved card as saved and a payment's card as that payment's, which cannot be paid with again", async () => {
    const { body: token } = await saveCard();
    const paid = await api('/v1/payments', { body: cardPayment() });
    expect(paid.body.status).toBe('succeeded');
    const [row] = await sql<{ token: string }>("SELECT state->'payment'->'request'->'paymentMethod'->'card'->>'token' AS token FROM intake.payments WHERE id = $1", [paid.body.id]);
    const kinds = await sql('SELECT token, kind FROM vault.cards WHERE token = ANY($1) ORDER BY kind', [[token.id, row!.token]]);
    expect(kinds).toEqual([{ token: row!.token, kind: 'payment' }, { token: token.id, kind: 'saved' }]);

    // A payment's card is destroyed after the vault's retention; until then it is no saved card either.
    const reuse = await api('/v1/payments', { body: tokenPayment(row!.token) });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toMatchObject({ code: 'resource_missing', param: 'payment_method.token' });
    expect((await api(`/v1/tokens/${row!.token}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('Idempotency-Key on POST /v1/tokens', () => {
  const withKey = (key: string, body: unknown = { card }, apiKey?: string) =>
    api('/v1/tokens', { body, headers: { 'idempotency-key': key }, ...(apiKey ? { key: apiKey } : {}) });

  it('returns the same token for a retry with the same key and body, and saves the card once', async () => {
    const key = randomUUID();
    const before = await vaultCards();
    const first = await withKey(key);
    const retry = await withKey(key);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await vaultCards()).toBe(before + 1);
    // The vault knows the tokenization by a keyed request id (a lost answer retried stores nothing twice), never the key itself.
    const [row] = await sql<{ request_id: string }>('SELECT request_id FROM vault.cards WHERE token = $1', [first.body.id]);
    expect(row!.request_id).toMatch(/^[\w-]{43}$/);
    expect(row!.request_id).not.toContain(key);
  });

  it('remembers only the token and its card facts, never the number or the security code', async () => {
    const key = randomUUID();
    const saved = await withKey(key, { card: { ...card, cvc: '987' } });
    const [row] = await sql('SELECT token, card FROM intake.token_idempotency_keys WHERE token = $1', [saved.body.id]);
    expect(row).toEqual({ token: saved.body.id, card: saved.body.card });
    expect(Object.keys(row!.card).sort()).toEqual(['brand', 'exp_month', 'exp_year', 'fingerprint', 'last4']);
    expect(JSON.stringify(row)).not.toContain(testCards.visa);
    expect(Object.values(row!.card)).not.toContain('987');
  });

  it('refuses the same key with another card as an idempotency_error, and saves nothing', async () => {
    const key = randomUUID();
    await withKey(key);
    const before = await vaultCards();
    const reused = await withKey(key, { card: { ...card, number: testCards.mastercard } });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused', param: 'Idempotency-Key' });
    expect(await vaultCards()).toBe(before);
  });

  it('saves one card for ten concurrent duplicates: each gets the token, or 409 idempotency_key_in_use', async () => {
    const key = randomUUID();
    const before = await vaultCards();
    const responses = await Promise.all(Array.from({ length: 10 }, () => withKey(key)));
    const tokens = new Set(responses.filter((response) => response.status < 300).map((response) => response.body.id));
    expect(tokens.size).toBe(1);
    for (const response of responses.filter((candidate) => candidate.status >= 300)) {
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_in_use' });
    }
    expect(await vaultCards()).toBe(before + 1);
    expect((await withKey(key)).body.id).toBe([...tokens][0]);
  });

  it('keeps token keys apart from payment keys, and per merchant', async () => {
    const key = randomUUID();
    const payment = await api('/v1/payments', { body: cardPayment(), headers: { 'idempotency-key': key } });
    const token = await withKey(key);
    expect(payment.status).toBe(201);
    expect(token.status).toBe(201);
    const theirs = await withKey(key, { card }, platform.otherMerchant.apiKey);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(token.body.id);
  });

  it('keeps the Idempotency-Key only as a keyed hash, even one with a card number typed into it', async () => {
    const key = `save-${testCards.mastercard}`;
    const saved = await withKey(key);
    expect(saved.status).toBe(201);
    expect((await withKey(key)).body.id).toBe(saved.body.id);
    const rows = await sql<{ row: string }>('SELECT to_jsonb(remembered)::text AS row, octet_length(idempotency_key_hash) AS bytes FROM intake.token_idempotency_keys remembered WHERE token = $1', [saved.body.id]);
    expect(rows).toMatchObject([{ bytes: 32 }]);
    expect(rows[0]!.row).not.toContain(testCards.mastercard);
    expect(rows[0]!.row).not.toContain('save-');
  });
});
