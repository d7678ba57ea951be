import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, cardPayment, platform, sql } from './support/api';

const secrets = JSON.parse(readFileSync(join(platform.dataDir, 'secrets.json'), 'utf8')) as { vaultCallers: Record<string, string> };
const vaultUrl = `http://127.0.0.1:${platform.processes.find((entry) => entry.name === 'tokenization')!.port}`;

async function vault(path: string, body: unknown, caller?: { name: string; secret: string }) {
  const response = await fetch(`${vaultUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(caller ? { 'x-dirigen-caller': caller.name, authorization: `Bearer ${caller.secret}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

const gateway = () => ({ name: 'gateway', secret: secrets.vaultCallers.gateway! });
const intake = () => ({ name: 'intake', secret: secrets.vaultCallers.intake! });

async function tokenOfNewPayment(): Promise<{ token: string; paymentId: string }> {
  const created = await api('/v1/payments', { body: cardPayment({ capture_method: 'manual' }) });
  const [row] = await sql<{ token: string }>("SELECT state->'payment'->'request'->'paymentMethod'->'card'->>'token' AS token FROM intake.payments WHERE id = $1", [created.body.id]);
  return { token: row!.token, paymentId: created.body.id };
}

/** The audit trail of this test's own calls (purpose `probe`), after the gateway's authorization ones. */
async function auditOutcomes(token: string): Promise<{ caller: string; outcome: string }[]> {
  const rows = await sql<{ caller: string; outcome: string; purpose: string }>('SELECT caller, outcome, purpose FROM vault.detokenize_audit WHERE token = $1 ORDER BY id', [token]);
  expect(rows[0]).toMatchObject({ caller: 'gateway', purpose: 'authorization', outcome: 'released' });
  return rows.filter((row) => row.purpose === 'probe').map(({ caller, outcome }) => ({ caller, outcome }));
}

describe('the vault', () => {
  it('stores ciphertext and card facts only: no number, no CVC, and the payment holds a token', async () => {
    const { token } = await tokenOfNewPayment();
    expect(token).toMatch(/^tok_/);
    const [row] = await sql('SELECT * FROM vault.cards WHERE token = $1', [token]);
    expect(Object.keys(row!).sort()).toEqual(
      ['auth_tag', 'bin', 'brand', 'ciphertext', 'created_at', 'cvc_supplied', 'data_key_version', 'exp_month', 'exp_year', 'fingerprint', 'last4', 'merchant_id', 'nonce', 'token'].sort(),
    );
    expect((row!.ciphertext as Buffer).toString('latin1')).not.toContain('4242424242424242');
  });

  it('gives the same keyed fingerprint for the same card at one merchant, and another at another merchant', async () => {
    const mine = await api('/v1/payments', { body: cardPayment() });
    const again = await api('/v1/payments', { body: cardPayment() });
    const theirs = await api('/v1/payments', { body: cardPayment(), key: platform.otherMerchant.apiKey });
    expect(again.body.payment_method.card.fingerprint).toBe(mine.body.payment_method.card.fingerprint);
    expect(theirs.body.payment_method.card.fingerprint).not.toBe(mine.body.payment_method.card.fingerprint);
  });

  it('refuses to detokenize without a credential, or for a caller that may only tokenize, and audits both refusals', async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const request = { merchant_id: platform.merchantId, token, purpose: 'probe', payment_id: paymentId };
    expect(await vault('/internal/v1/detokenize', request)).toMatchObject({ status: 401, body: { error: { type: 'authentication_error' } } });
    expect(await vault('/internal/v1/detokenize', request, { name: 'gateway', secret: 'not-the-gateway-secret' })).toMatchObject({ status: 401 });
    expect(await vault('/internal/v1/detokenize', request, intake())).toMatchObject({ status: 403, body: { error: { code: 'caller_forbidden' } } });
    expect(await auditOutcomes(token)).toEqual([
      { caller: '(none)', outcome: 'refused_unauthorized' },
      { caller: 'gateway', outcome: 'refused_unauthorized' },
      { caller: 'intake', outcome: 'refused_unauthorized' },
    ]);
  });

  it("makes merchant A's token useless to merchant B: not found, and audited", async () => {
    const { token } = await tokenOfNewPayment();
    const response = await vault('/internal/v1/detokenize', { merchant_id: platform.otherMerchant.id, token, purpose: 'probe' }, gateway());
    expect(response.status).toBe(404);
    expect(JSON.stringify(response.body)).not.toMatch(/4242424242424242/);
    expect(await auditOutcomes(token)).toEqual([{ caller: 'gateway', outcome: 'not_found' }]);
  });

  it('fails closed on tampered ciphertext, without revealing anything', async () => {
    const { token } = await tokenOfNewPayment();
    const { Client } = await import('pg');
    const client = new Client({ connectionString: platform.databaseUrl });
    await client.connect();
    try {
      await client.query("UPDATE vault.cards SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) WHERE token = $1", [token]);
    } finally {
      await client.end();
    }
    const response = await vault('/internal/v1/detokenize', { merchant_id: platform.merchantId, token, purpose: 'probe' }, gateway());
    expect(response).toMatchObject({ status: 500, body: { error: { code: 'vault_integrity_failure' } } });
    expect(await auditOutcomes(token)).toEqual([{ caller: 'gateway', outcome: 'integrity_failure' }]);
  });

  it('erases the card security code once the attempt that used it is recorded', async () => {
    const created = await api('/v1/payments', { body: cardPayment() });
    expect(created.body.status).toBe('succeeded');
    const [row] = await sql<{ token: string }>("SELECT state->'payment'->'request'->'paymentMethod'->'card'->>'token' AS token FROM intake.payments WHERE id = $1", [created.body.id]);
    // The gateway released the code after recording the attempt: the card is now on file, without it.
    const again = await vault('/internal/v1/detokenize', { merchant_id: platform.merchantId, token: row!.token, purpose: 'probe' }, gateway());
    expect(again.status).toBe(200);
    expect(Object.keys(again.body).sort()).toEqual(['exp_month', 'exp_year', 'number']);
    const [card] = await sql('SELECT cvc_supplied FROM vault.cards WHERE token = $1', [row!.token]);
    expect(card).toEqual({ cvc_supplied: false });
  });

  it('lets only the auditor query the audit trail, by payment or token', async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const auditor = { name: 'auditor', secret: secrets.vaultCallers.auditor! };
    const byPayment = await vault('/internal/v1/audit-queries', { payment_id: paymentId }, auditor);
    expect(byPayment.status).toBe(200);
    expect(byPayment.body.data).toEqual([
      { caller: 'gateway', merchant_id: platform.merchantId, token, purpose: 'authorization', payment_id: paymentId, outcome: 'released', at: expect.any(String) },
    ]);
    expect((await vault('/internal/v1/audit-queries', { token }, auditor)).body.data).toHaveLength(1);
    expect(await vault('/internal/v1/audit-queries', { token }, intake())).toMatchObject({ status: 403 });
    expect(await vault('/internal/v1/audit-queries', { token }, gateway())).toMatchObject({ status: 403 });
    expect(await vault('/internal/v1/audit-queries', {}, auditor)).toMatchObject({ status: 400, body: { error: { param: 'token' } } });
  });

  it('keeps the audit log append-only', async () => {
    await expect(sql('DELETE FROM vault.detokenize_audit WHERE id = (SELECT min(id) FROM vault.detokenize_audit)')).rejects.toThrow(/append-only/);
    await expect(sql("UPDATE vault.detokenize_audit SET outcome = 'x' WHERE id = (SELECT min(id) FROM vault.detokenize_audit)")).rejects.toThrow(/append-only/);
  });
});
