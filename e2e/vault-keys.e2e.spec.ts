import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, cardPayment, eventually, platform, simulatorStats, sql, testCards } from './support/api';
import { instancesOf, killedAndRestarted } from './support/processes';

const kekFile = join(platform.dataDir, 'vault/kek.json');
const sharesDir = join(platform.dataDir, 'vault/kek-shares');
const flowConcurrency = 4;

/** Runs `npm run vault:keys -- …` against the platform under test, as an operator would. */
function vaultKeys(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/vault-keys.mjs', ...args], {
      env: { ...process.env, DATABASE_URL: platform.databaseUrl, VAULT_KEK_FILE: kekFile, VAULT_KEK_SHARES_DIR: sharesDir },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function saveCard(key = platform.apiKey) {
  const saved = await api('/v1/tokens', { body: { card: { number: testCards.mastercard, exp_month: 11, exp_year: 2031, cvc: '321' } }, key });
  expect(saved.status).toBe(201);
  return saved.body.id as string;
}

function tokenPayment(token: string, cvc?: string) {
  return { amount: 990, currency: 'USD', payment_method: { type: 'card', token, ...(cvc ? { cvc } : {}) } };
}

/** Payments (new cards and saved ones, two merchants) until `stop()`; every answer kept. */
function paymentsFlowing(tokens: { token: string; key: string }[]) {
  let flowing = true;
  const statuses: string[] = [];
  const workers = Array.from({ length: flowConcurrency }, async (_, worker) => {
    for (let round = 0; flowing; round++) {
      const saved = tokens[(worker + round) % tokens.length]!;
      const body = round % 2 === 0 ? cardPayment({ metadata: { drill: 'key-rotation' } }) : tokenPayment(saved.token);
      const response = await api('/v1/payments', { body, key: round % 2 === 0 ? platform.apiKey : saved.key });
      statuses.push(`${response.status}:${response.body.status ?? response.body.error?.code}`);
    }
  });
  return {
    statuses,
    async stop() {
      flowing = false;
      await Promise.all(workers);
    },
  };
}

describe('vault keys', () => {
  it('rotates the KEK (to custodian shares) and every card key while payments keep flowing, then retires the old versions', async () => {
    const tokens = [
      ...(await Promise.all([1, 2, 3].map(async () => ({ token: await saveCard(), key: platform.apiKey })))),
      ...(await Promise.all([1, 2].map(async () => ({ token: await saveCard(platform.otherMerchant.apiKey), key: platform.otherMerchant.apiKey })))),
    ];
    const flow = paymentsFlowing(tokens);

    const kekNew = await vaultKeys('kek-new', '--shares', '3', '--threshold', '2', '--out', sharesDir);
    expect(kekNew).toMatchObject({ code: 0, output: expect.stringContaining('key-encryption key v2 registered') });
    const rewrap = await vaultKeys('rewrap');
    expect(rewrap).toMatchObject({ code: 0, output: expect.stringMatching(/rewrapped \d+\/\d+ data keys under key-encryption key v2/) });
    const rotation = await vaultKeys('rotate-card-keys', '--batch-size', '25');
    expect(rotation.code).toBe(0);
    expect(rotation.output).toMatch(/re-encrypted \d+\/\d+ records/);
    await flow.stop();

    expect(flow.statuses.length).toBeGreaterThan(20);
    expect(flow.statuses.filter((status) => status !== '201:succeeded')).toEqual([]);

    const status = JSON.parse((await vaultKeys('status', '--json')).output) as {
      keyEncryptionKeys: { version: number; dataKeysWrapped: number; current: boolean }[];
      cardDataKeys: { version: number; state: string; records: number }[];
    };
    expect(status.keyEncryptionKeys).toEqual([
      expect.objectContaining({ version: 1, dataKeysWrapped: 0, current: false }),
      expect.objectContaining({ version: 2, current: true }),
    ]);
    // Records another test tampered with cannot be opened, so they stay behind; nothing else does.
    const failedToOpen = Number(/(\d+) record\(s\) failed to open/.exec(rotation.output)?.[1] ?? 0);
    const [{ count: behind }] = await sql(
      `SELECT count(*) FROM vault.cards c WHERE c.data_key_version < (SELECT max(version) FROM vault.data_keys d WHERE d.merchant_id = c.merchant_id AND d.purpose = 'card')`,
    );
    expect(Number(behind)).toBe(failedToOpen);

    expect(await vaultKeys('retire', '--card-key', '1', '--merchant', platform.otherMerchant.id)).toMatchObject({ code: 0, output: expect.stringContaining('retired for 1 merchant') });
    expect(await vaultKeys('retire', '--kek', '1')).toMatchObject({ code: 0 });
    expect(await vaultKeys('retire', '--kek', '2')).toMatchObject({ code: 2, output: expect.stringContaining('is the current one') });
    const [retired] = await sql("SELECT wrapped, state FROM vault.data_keys WHERE merchant_id = $1 AND purpose = 'card' AND version = 1", [platform.otherMerchant.id]);
    expect(retired).toEqual({ wrapped: null, state: 'retired' });

    // Cards saved before the rotation still pay: they were re-encrypted under the new keys.
    for (const saved of tokens) {
      expect((await api('/v1/payments', { body: tokenPayment(saved.token), key: saved.key })).body.status).toBe('succeeded');
    }
  });

  it("pays with a saved card's code after every vault replica restarted between saving and paying (the code is held encrypted in the database), then with the card on file", async () => {
    const token = await saveCard();
    // One after the other, as a rolling restart or two separate crashes would: no process that saw the code is left.
    for (const replica of instancesOf('tokenization')) await killedAndRestarted([replica]);

    const pspBefore = await simulatorStats();
    const payment = await api('/v1/payments', { body: tokenPayment(token) });
    expect(payment.body).toMatchObject({ status: 'succeeded', failure_code: null });
    expect(payment.body.attempts).toHaveLength(1);
    expect((await simulatorStats()).requests_served).toBeGreaterThan(pspBefore.requests_served);
    // The code was used: erased, and the card is on file from now on.
    await eventually(async () => ((await sql('SELECT 1 FROM vault.cards WHERE token = $1 AND NOT cvc_supplied', [token])).length ? true : undefined));
    expect(await sql('SELECT 1 FROM vault.held_security_codes WHERE token = $1', [token])).toEqual([]);
    expect((await api('/v1/payments', { body: tokenPayment(token) })).body).toMatchObject({ status: 'succeeded' });
  }, 120_000);

  it('fails a saved-card payment with cvc_expired when its code was lost before paying (a PostgreSQL crash empties the unlogged table), never charges, and pays once the code is given again', async () => {
    const token = await saveCard();
    const { Client } = await import('pg');
    const client = new Client({ connectionString: platform.databaseUrl });
    await client.connect();
    try {
      await client.query('DELETE FROM vault.held_security_codes WHERE token = $1', [token]);
    } finally {
      await client.end();
    }

    const pspBefore = await simulatorStats();
    const payment = await api('/v1/payments', { body: tokenPayment(token) });
    expect(payment.body).toMatchObject({ status: 'failed', failure_code: 'cvc_expired', attempts: [{ status: 'failed', failure_code: 'cvc_expired' }] });
    // No authorization: the PSP was only asked whether it had seen the attempt (it had not).
    expect((await simulatorStats()).authorizations).toEqual(pspBefore.authorizations);
    // The card itself is intact (encrypted at rest); only its code is gone, and the card does not silently
    // become card-on-file: the next payment needs the code again too.
    const again = await api('/v1/payments', { body: tokenPayment(token) });
    expect(again.body).toMatchObject({ status: 'failed', failure_code: 'cvc_expired' });
    expect((await simulatorStats()).authorizations).toEqual(pspBefore.authorizations);
    // Once the customer gives the code again, the card pays, and from then on it is on file.
    expect((await api('/v1/payments', { body: tokenPayment(token, '321') })).body).toMatchObject({ status: 'succeeded' });
    expect((await api('/v1/payments', { body: tokenPayment(token) })).body).toMatchObject({ status: 'succeeded' });
  });
});
