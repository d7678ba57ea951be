import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { VaultUnavailableError } from '@dirigen/vault-client';
import { describe, expect, it } from 'vitest';
import { api, cardExpiryYear, cardPayment, eventually, platform, sql } from './support/api';
import { instancesOf, killedAndRestarted } from './support/processes';
import { channelAs, rawVaultCall, vaultAs, vaultSecretOf } from './support/vault';

const gateway = vaultAs('gateway');
/** The vault runs as several replicas (tokenization-1, tokenization-2 …) over one database. */
const vaultReplicas = instancesOf('tokenization');
const intake = vaultAs('intake');
const auditor = vaultAs('auditor');

async function tokenOfNewPayment(): Promise<{ token: string; paymentId: string }> {
  const created = await api('/v1/payments', { body: cardPayment({ capture_method: 'manual' }) });
  const [row] = await sql<{ token: string }>("SELECT state->'payment'->'request'->'paymentMethod'->'card'->>'token' AS token FROM intake.payments WHERE id = $1", [created.body.id]);
  return { token: row!.token, paymentId: created.body.id };
}

/** A saved card whose security code was used once already: on file, without a code. */
async function cardOnFile(): Promise<string> {
  // As a merchant would: with an Idempotency-Key, retried on 503 (right after every vault replica was killed,
  // intake answers 503 vault_unavailable + Retry-After until its channel has reconnected).
  const asMerchant = (path: string, body: unknown) => {
    const key = `e2e-card-on-file-${randomUUID()}`;
    return eventually(async () => {
      const answer = await api(path, { body, headers: { 'idempotency-key': key } });
      return answer.status === 503 ? undefined : answer;
    }, 15_000, 250);
  };
  const saved = await asMerchant('/v1/tokens', { card: { number: '4242424242424242', exp_month: 12, exp_year: cardExpiryYear, cvc: '123' } });
  const first = await asMerchant('/v1/payments', { amount: 700, currency: 'USD', payment_method: { type: 'card', token: saved.body.id } });
  expect(first.body.status).toBe('succeeded');
  await eventually(async () => ((await sql('SELECT 1 FROM vault.cards WHERE token = $1 AND NOT cvc_supplied', [saved.body.id])).length ? true : undefined));
  return saved.body.id as string;
}

/** The audit trail of this test's own calls (purpose `probe`), after the gateway's authorization ones. */
async function auditOutcomes(token: string): Promise<{ caller: string; outcome: string }[]> {
  const rows = await sql<{ caller: string; outcome: string; purpose: string }>('SELECT caller, outcome, purpose FROM vault.detokenize_audit WHERE token = $1 ORDER BY id', [token]);
  expect(rows[0]).toMatchObject({ caller: 'gateway', purpose: 'authorization', outcome: 'released' });
  return rows.filter((row) => row.purpose === 'probe').map(({ caller, outcome }) => ({ caller, outcome }));
}

/** A whole other CA and certificates (as the launcher issues them): trusted by nobody here. */
async function foreignTls(): Promise<{ ca: string; callers: Record<string, { cert: string; key: string }> }> {
  const { issueVaultTls } = await import(join(process.cwd(), 'scripts/platform/vault-tls.mjs'));
  return issueVaultTls(join(platform.dataDir, 'foreign-tls'), { caName: 'Not the Dirigen vault CA', callers: ['gateway'] });
}

function gatewayMetadata(): Record<string, string> {
  return { 'x-dirigen-caller': 'gateway', authorization: `Bearer ${vaultSecretOf('gateway')}` };
}

describe('the vault', () => {
  it('stores ciphertext and card facts only: no number, no CVC, and the payment holds a token', async () => {
    const { token } = await tokenOfNewPayment();
    expect(token).toMatch(/^tok_/);
    const [row] = await sql('SELECT * FROM vault.cards WHERE token = $1', [token]);
    expect(Object.keys(row!).sort()).toEqual(
      ['auth_tag', 'bin', 'brand', 'ciphertext', 'created_at', 'cvc_supplied', 'data_key_version', 'exp_month', 'exp_year', 'fingerprint', 'kind', 'last4', 'merchant_id', 'nonce', 'request_id', 'token'].sort(),
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

  it('has no HTTP way in any more: the internal API answers 404 on the HTTP port of every vault replica', async () => {
    expect(vaultReplicas.length).toBeGreaterThanOrEqual(2);
    for (const vaultHttp of platform.processes.filter((entry) => entry.name === 'tokenization')) {
      const response = await fetch(`http://127.0.0.1:${vaultHttp.port}/internal/v1/detokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(response.status, vaultHttp.instance).toBe(404);
    }
  });

  it('refuses to detokenize without a credential, with a wrong secret, or for a caller that may only tokenize, and audits every refusal', async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const request = { merchantId: platform.merchantId, token, purpose: 'probe', paymentId };
    const intruder = await rawVaultCall('Detokenize', request);
    expect(intruder).toMatchObject({ code: status.UNAUTHENTICATED, trailers: { 'dirigen-vault-error': 'caller_unauthenticated' } });
    await expect(vaultAs('gateway', 'not-the-gateway-secret').detokenize(request)).rejects.toMatchObject({ code: 'caller_unauthenticated', grpcStatus: status.UNAUTHENTICATED });
    const forbidden = intake.detokenize(request);
    await expect(forbidden).rejects.toBeInstanceOf(VaultUnavailableError);
    await expect(forbidden).rejects.toMatchObject({ code: 'caller_forbidden', grpcStatus: status.PERMISSION_DENIED });
    expect(await auditOutcomes(token)).toEqual([
      { caller: '(none)', outcome: 'refused_unauthorized' },
      { caller: 'gateway', outcome: 'refused_unauthorized' },
      { caller: 'intake', outcome: 'refused_unauthorized' },
    ]);
  });

  it('refuses a request outside its limits before acting on it, naming the field', async () => {
    const answer = await rawVaultCall('Detokenize', { merchantId: platform.merchantId, token: 'x'.repeat(65), purpose: 'probe' }, { 'x-dirigen-caller': 'gateway', authorization: 'Bearer whatever' });
    expect(answer).toMatchObject({ code: status.INVALID_ARGUMENT, trailers: { 'dirigen-vault-error': 'invalid_request', 'dirigen-vault-field': 'token' } });
  });

  it("makes merchant A's token useless to merchant B: not found, and audited", async () => {
    const { token } = await tokenOfNewPayment();
    const result = await gateway.detokenize({ merchantId: platform.otherMerchant.id, token, purpose: 'probe', paymentId: '' });
    expect(result).toEqual({ ok: false, code: 'token_not_found', message: expect.any(String) });
    expect(JSON.stringify(result)).not.toMatch(/4242424242424242/);
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
    const answer = await rawVaultCall('Detokenize', { merchantId: platform.merchantId, token, purpose: 'probe' }, { 'x-dirigen-caller': 'gateway', authorization: `Bearer ${vaultSecretOf('gateway')}` });
    expect(answer).toMatchObject({ code: status.DATA_LOSS, trailers: { 'dirigen-vault-error': 'integrity_failure' } });
    expect(JSON.stringify(answer)).not.toMatch(/4242/);
    await expect(gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: '' })).rejects.toMatchObject({ code: 'integrity_failure' });
    expect(await auditOutcomes(token)).toEqual([
      { caller: 'gateway', outcome: 'integrity_failure' },
      { caller: 'gateway', outcome: 'integrity_failure' },
    ]);
  });

  it('erases the card security code once the attempt that used it is recorded', async () => {
    const created = await api('/v1/payments', { body: cardPayment() });
    expect(created.body.status).toBe('succeeded');
    const [row] = await sql<{ token: string }>("SELECT state->'payment'->'request'->'paymentMethod'->'card'->>'token' AS token FROM intake.payments WHERE id = $1", [created.body.id]);
    // The gateway releases the code after recording the attempt: erased.
    await eventually(async () => ((await sql('SELECT 1 FROM vault.cards WHERE token = $1 AND NOT cvc_supplied', [row!.token])).length ? true : undefined));
    expect(await sql('SELECT 1 FROM vault.held_security_codes WHERE token = $1', [row!.token])).toEqual([]);
    // A payment's card is never on file: a late duplicate of its authorization gets no card without its code
    // (it would send the PSP the same attempt id with another body).
    const again = await gateway.detokenize({ merchantId: platform.merchantId, token: row!.token, purpose: 'probe', paymentId: created.body.id });
    expect(again).toMatchObject({ ok: false, code: 'cvc_expired' });
  });

  it('holds a security code for one payment only: another payment with the same token never gets it, and release erases it', async () => {
    const token = await cardOnFile();
    await intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_hold_a', cvc: '456' });
    const forA = await gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: 'pay_e2e_hold_a' });
    const forB = await gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: 'pay_e2e_hold_b' });
    expect(forA.ok && forA.card.cvc).toBe('456');
    expect(forB.ok && forB.card.cvc).toBeUndefined();
    await gateway.releaseCvc({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_hold_a' });
    // Released: that payment's authorization never again gets the card, with or without its code (a late
    // duplicate would send the PSP the same attempt with another body); other payments get it on file.
    const afterRelease = await gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: 'pay_e2e_hold_a' });
    expect(afterRelease).toMatchObject({ ok: false, code: 'cvc_expired' });
    const another = await gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: 'pay_e2e_hold_d' });
    expect(another.ok && another.card.cvc).toBeUndefined();
    // Only intake may hold a code, and only for its merchant's token.
    await expect(gateway.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_hold_c', cvc: '456' })).rejects.toMatchObject({ code: 'caller_forbidden' });
    await expect(intake.holdSecurityCode({ merchantId: platform.otherMerchant.id, token, paymentId: 'pay_e2e_hold_c', cvc: '456' })).rejects.toMatchObject({ code: 'token_not_found' });
    await expect(intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_hold_c', cvc: '4567' })).rejects.toMatchObject({ code: 'invalid_card', field: 'cvc', detail: 'invalid_cvc' });
  });

  it('answers a batch of detokenizations one by one, in order, audits each, and releases codes in a batch', async () => {
    const token = await cardOnFile();
    await intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_batch_a', cvc: '321' });
    await intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_batch_b', cvc: '654' });
    const probe = (merchantId: string, paymentId: string) => ({ merchantId, token, purpose: 'probe', paymentId });
    const [a, elsewhere, b] = await gateway.detokenizeBatch([probe(platform.merchantId, 'pay_e2e_batch_a'), probe(platform.otherMerchant.id, 'pay_e2e_batch_x'), probe(platform.merchantId, 'pay_e2e_batch_b')]);
    expect(a).toMatchObject({ ok: true, card: { number: '4242424242424242', cvc: '321' } });
    expect(elsewhere).toEqual({ ok: false, code: 'token_not_found', message: expect.any(String) });
    expect(b).toMatchObject({ ok: true, card: { cvc: '654' } });
    const audited = await auditOutcomes(token);
    expect(audited.filter(({ outcome }) => outcome === 'not_found')).toHaveLength(1);
    expect(audited).toHaveLength(2 + 1);
    await gateway.releaseSecurityCodes([{ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_batch_a' }, { merchantId: platform.merchantId, token, paymentId: 'pay_e2e_batch_b' }]);
    const afterRelease = await gateway.detokenizeBatch([probe(platform.merchantId, 'pay_e2e_batch_a'), probe(platform.merchantId, 'pay_e2e_batch_b')]);
    expect(afterRelease).toEqual([expect.objectContaining({ ok: false, code: 'cvc_expired' }), expect.objectContaining({ ok: false, code: 'cvc_expired' })]);
    // What concerns the call fails it whole: the caller, and the batch's limits (naming the entry at fault).
    await expect(intake.detokenizeBatch([probe(platform.merchantId, 'pay_e2e_batch_c')])).rejects.toMatchObject({ code: 'caller_forbidden' });
    const tooMany = await rawVaultCall('DetokenizeBatch', { requests: Array.from({ length: 257 }, () => probe(platform.merchantId, 'pay_e2e_batch_c')) }, gatewayMetadata());
    expect(tooMany).toMatchObject({ code: status.INVALID_ARGUMENT, trailers: { 'dirigen-vault-error': 'invalid_request', 'dirigen-vault-field': 'requests' } });
    const badEntry = await rawVaultCall('DetokenizeBatch', { requests: [probe(platform.merchantId, 'pay_e2e_batch_c'), { ...probe(platform.merchantId, 'pay_e2e_batch_c'), token: 'x'.repeat(65) }] }, gatewayMetadata());
    expect(badEntry).toMatchObject({ code: status.INVALID_ARGUMENT, trailers: { 'dirigen-vault-field': 'requests[1].token' } });
  });

  it('lets only the auditor query the audit trail, by payment or token', async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const byPayment = await auditor.queryAudit({ paymentId });
    expect(byPayment).toEqual([
      { caller: 'gateway', merchantId: platform.merchantId, token, purpose: 'authorization', paymentId, outcome: 'released', at: expect.any(Date) },
    ]);
    expect(await auditor.queryAudit({ token })).toHaveLength(1);
    await expect(intake.queryAudit({ token })).rejects.toMatchObject({ code: 'caller_forbidden', grpcStatus: status.PERMISSION_DENIED });
    await expect(gateway.queryAudit({ token })).rejects.toMatchObject({ code: 'caller_forbidden' });
    await expect(auditor.queryAudit({})).rejects.toMatchObject({ code: 'invalid_request', field: 'token', grpcStatus: status.INVALID_ARGUMENT });
  });

  it('keeps the audit log append-only', async () => {
    await expect(sql('DELETE FROM vault.detokenize_audit WHERE id = (SELECT min(id) FROM vault.detokenize_audit)')).rejects.toThrow(/append-only/);
    await expect(sql("UPDATE vault.detokenize_audit SET outcome = 'x' WHERE id = (SELECT min(id) FROM vault.detokenize_audit)")).rejects.toThrow(/append-only/);
  });

  it('rate-limits detokenize per caller and vault replica (VAULT_DETOKENIZE_LIMITS gateway:100/200 in this suite), and audits the refusals', async () => {
    const { token } = await tokenOfNewPayment();
    // Each replica keeps its own bucket: together they let through up to replicas × the burst at once.
    const calls = 400 * vaultReplicas.length;
    const results = await Promise.allSettled(Array.from({ length: calls }, () => gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: '' })));
    const limited = results.filter((result) => result.status === 'rejected' && (result.reason as VaultUnavailableError).code === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    expect(results.filter((result) => result.status === 'fulfilled').length).toBeGreaterThanOrEqual(100);
    expect(limited.length + results.filter((result) => result.status === 'fulfilled').length).toBe(calls);
    const [{ count }] = await sql<{ count: string }>("SELECT count(*) FROM vault.detokenize_audit WHERE token = $1 AND purpose = 'probe' AND outcome = 'refused_rate_limited'", [token]);
    expect(Number(count)).toBe(limited.length);
    // Let the bucket refill before the next suite's authorizations.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
  });

  it('keeps a held security code through the kill -9 of every vault replica at once: it lives encrypted in the database, not in a process', async () => {
    const token = await cardOnFile();
    await intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_restart', cvc: '789' });
    // The supervisor restarts them, as Kubernetes would; a replica's gRPC server is up before its HTTP health answers.
    await killedAndRestarted(vaultReplicas);
    const afterRestart = await eventually(() => gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: 'pay_e2e_restart' }).catch(() => undefined), 15_000, 250);
    expect(afterRestart).toMatchObject({ ok: true, card: { number: '4242424242424242', cvc: '789' } });
    const [held] = await sql<{ ciphertext: Buffer }>("SELECT ciphertext FROM vault.held_security_codes WHERE token = $1 AND payment_id = 'pay_e2e_restart'", [token]);
    expect(held!.ciphertext.toString('latin1')).not.toContain('789');
    // Each caller's channel reconnects on its own backoff (up to ~2 s): wait until this suite's intake
    // channel is served too, so the next test does not meet a channel still waiting to reconnect.
    const intakeServed = await eventually(() => intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_restart_probe', cvc: '123' }).then(() => true, () => undefined), 15_000, 250);
    expect(intakeServed).toBe(true);
  }, 120_000);

  it('fails a held security code closed once it is lost (as a PostgreSQL crash empties its unlogged table): cvc_expired, never the card without its code', async () => {
    const token = await cardOnFile();
    await intake.holdSecurityCode({ merchantId: platform.merchantId, token, paymentId: 'pay_e2e_lost', cvc: '789' });
    const { Client } = await import('pg');
    const client = new Client({ connectionString: platform.databaseUrl });
    await client.connect();
    try {
      await client.query("DELETE FROM vault.held_security_codes WHERE token = $1 AND payment_id = 'pay_e2e_lost'", [token]);
    } finally {
      await client.end();
    }
    const lost = await gateway.detokenize({ merchantId: platform.merchantId, token, purpose: 'probe', paymentId: 'pay_e2e_lost' });
    expect(lost).toMatchObject({ ok: false, code: 'cvc_expired' });
  });
});

describe('the vault over mutual TLS', () => {
  it("refuses a plaintext client at the transport, before the vault sees the call, even with the gateway's name and secret", async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const answer = await rawVaultCall('Detokenize', { merchantId: platform.merchantId, token, purpose: 'probe', paymentId }, gatewayMetadata(), credentials.createInsecure());
    expect(answer.code).toBe(status.UNAVAILABLE);
    expect(answer.trailers).not.toHaveProperty('dirigen-vault-error');
    expect(await auditOutcomes(token)).toEqual([]);
  });

  it("refuses a TLS client without a certificate, or with one signed by another CA, even with the gateway's name and secret", async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const request = { merchantId: platform.merchantId, token, purpose: 'probe', paymentId };
    const withoutCertificate = credentials.createSsl(readFileSync(platform.vaultTls.ca), null, null, { rejectUnauthorized: true });
    const foreign = await foreignTls();
    const gatewayOfAnotherCa = credentials.createSsl(readFileSync(platform.vaultTls.ca), readFileSync(foreign.callers.gateway!.key), readFileSync(foreign.callers.gateway!.cert), { rejectUnauthorized: true });
    for (const channel of [withoutCertificate, gatewayOfAnotherCa]) {
      const answer = await rawVaultCall('Detokenize', request, gatewayMetadata(), channel);
      expect(answer.code).toBe(status.UNAVAILABLE);
      expect(answer.trailers).not.toHaveProperty('dirigen-vault-error');
    }
    expect(await auditOutcomes(token)).toEqual([]);
  });

  it('is not trusted by a caller whose CA did not sign the vault certificate (no talking to an impostor vault)', async () => {
    const foreign = await foreignTls();
    const own = platform.vaultTls.callers.gateway!;
    const trustingAnotherCa = credentials.createSsl(readFileSync(foreign.ca), readFileSync(own.key), readFileSync(own.cert), { rejectUnauthorized: true });
    const answer = await rawVaultCall('QueryAudit', { token: 'tok_x' }, gatewayMetadata(), trustingAnotherCa);
    expect(answer.code).toBe(status.UNAVAILABLE);
  });

  it("refuses intake's certificate presenting the gateway's name and secret, and audits the impersonation; the gateway's own certificate works", async () => {
    const { token, paymentId } = await tokenOfNewPayment();
    const request = { merchantId: platform.merchantId, token, purpose: 'probe', paymentId };
    const raw = await rawVaultCall('Detokenize', request, gatewayMetadata(), channelAs('intake'));
    expect(raw).toMatchObject({ code: status.UNAUTHENTICATED, trailers: { 'dirigen-vault-error': 'caller_unauthenticated', 'dirigen-vault-detail': 'certificate_mismatch' } });
    expect(JSON.stringify(raw)).not.toMatch(/4242/);
    const impostor = vaultAs('gateway', vaultSecretOf('gateway'), 'intake');
    await expect(impostor.detokenize(request)).rejects.toMatchObject({ code: 'caller_unauthenticated', grpcStatus: status.UNAUTHENTICATED });
    // The gateway's own certificate is let in: the vault answers (this payment's code is already released
    // after its attempt, so it answers cvc_expired rather than the card, and audits it).
    const genuine = await vaultAs('gateway').detokenize(request);
    expect(genuine).toMatchObject({ ok: false, code: 'cvc_expired' });
    expect(await auditOutcomes(token)).toEqual([
      { caller: 'gateway', outcome: 'refused_certificate_mismatch' },
      { caller: 'gateway', outcome: 'refused_certificate_mismatch' },
      { caller: 'gateway', outcome: 'cvc_expired' },
    ]);
    // The log file is written by the supervisor as the output arrives: wait for the line rather than race it.
    const logsDir = join(platform.dataDir, 'logs');
    const refusalLogged = await eventually(async () =>
      readdirSync(logsDir)
        .filter((file) => /^tokenization-\d+\.log$/.test(file))
        .flatMap((file) => readFileSync(join(logsDir, file), 'utf8').split('\n'))
        .filter((line) => line.includes('the client certificate names another caller'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.caller === 'gateway' && entry.certificateName === 'intake'),
    );
    expect(refusalLogged).toMatchObject({ level: 'warn', permission: 'detokenize' });
    // The binding holds for every method: intake's certificate cannot read the audit trail as the auditor either.
    await expect(vaultAs('auditor', vaultSecretOf('auditor'), 'intake').queryAudit({ token })).rejects.toMatchObject({ code: 'caller_unauthenticated' });
  });
});
