import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@dirigen/observability';
import { createServiceDataSource, migrateServiceDatabase } from '@dirigen/persistence';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallerAuthenticator } from './caller-auth';
import { CallerRateLimiter } from './caller-rate-limiter';
import { CardVault } from './card-vault';
import { DataKeys } from './keys/data-keys';
import { readKeyEncryptionKeys } from './keys/key-encryption-keys';
import { PgKeyStore } from './keys/key-store';
import { tokenizationMigrations, vaultSchema } from './tokenization.migrations';
import { VaultCrypto } from './vault-crypto';

// The vault's tokenize against the real PostgreSQL: a request id stores a merchant's card once.

const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
// Its own database: the KEK registry is per database, and the rotation test registers and retires versions of its own.
const databaseName = 'dirigen_test_card_vault';
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${databaseName}` }).toString();
const secrets = { intake: 'intake-secret-for-card-vault-test', gateway: 'gateway-secret-for-card-vault-test' };
const intake = { name: 'intake', secret: secrets.intake, certificateName: 'intake' };
const gateway = { name: 'gateway', secret: secrets.gateway, certificateName: 'gateway' };
// Years from now whenever the suite runs: the vault refuses an expired card by the clock.
const expYear = new Date().getUTCFullYear() + 8;
const visa = { number: '4242424242424242', expMonth: 12, expYear, cvc: '123' };
const mastercard = { number: '5555555555554444', expMonth: 12, expYear, cvc: '123' };

let dataSource: DataSource;
let kekFile: string;

/** A vault process: its own in-memory security codes, the shared database and KEK. */
async function vaultProcess(): Promise<CardVault> {
  const keys = new DataKeys(new PgKeyStore(dataSource), () => readKeyEncryptionKeys({ file: kekFile, sharesMin: 2 }), { currentVersionTtlMs: 0, cachedKeysMax: 100, kekReloadIntervalMs: 0 });
  await keys.start();
  return new CardVault(
    dataSource,
    new VaultCrypto(keys),
    new CallerAuthenticator(`intake:${secrets.intake},gateway:${secrets.gateway}`, { certificateRequired: true }),
    new CallerRateLimiter(new Map([['gateway', { ratePerSecond: 10_000, burst: 10_000 }]])),
    createLogger('card-vault-int'),
    { securityCodeTtlMs: 60_000 },
  );
}

async function cardsOf(merchantId: string): Promise<number> {
  const [{ count }]: { count: string }[] = await dataSource.query('SELECT count(*) FROM vault.cards WHERE merchant_id = $1', [merchantId]);
  return Number(count);
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${databaseName}`);
  } finally {
    await admin.end();
  }
  await migrateServiceDatabase({ url: databaseUrl, schema: vaultSchema, applicationName: 'card-vault.int.spec', migrations: tokenizationMigrations });
  dataSource = await createServiceDataSource({ url: databaseUrl, schema: vaultSchema, applicationName: 'card-vault.int.spec', poolSizeMax: 6 }).initialize();
  kekFile = join(mkdtempSync(join(tmpdir(), 'card-vault-kek-')), 'kek.json');
  writeFileSync(kekFile, JSON.stringify({ versions: { 1: randomBytes(32).toString('base64') } }));
});

afterAll(async () => {
  await dataSource?.destroy();
});

describe('tokenize with a request id', () => {
  it('stores the card once: a retry gets the first token, with its security code held again after a restart', async () => {
    const merchantId = `mer_request_${randomBytes(4).toString('hex')}`;
    const first = await (await vaultProcess()).tokenize(intake, merchantId, visa, 'payment', 'req_1');
    // The answer was lost and the vault restarted (its codes gone) before the caller retried.
    const restarted = await vaultProcess();
    const retry = await restarted.tokenize(intake, merchantId, visa, 'payment', 'req_1');
    expect(retry).toEqual(first);
    expect(await cardsOf(merchantId)).toBe(1);
    expect(await restarted.detokenize(gateway, { merchantId, token: first.token, purpose: 'authorization' })).toMatchObject({ number: visa.number, cvc: '123' });
  });

  it('refuses the same request id with another card, and stores nothing', async () => {
    const merchantId = `mer_request_${randomBytes(4).toString('hex')}`;
    const vault = await vaultProcess();
    await vault.tokenize(intake, merchantId, visa, 'saved', 'req_1');
    await expect(vault.tokenize(intake, merchantId, mastercard, 'saved', 'req_1')).rejects.toMatchObject({ code: 'invalid_request', field: 'request_id' });
    await expect(vault.tokenize(intake, merchantId, visa, 'payment', 'req_1')).rejects.toMatchObject({ code: 'invalid_request', field: 'request_id' });
    expect(await cardsOf(merchantId)).toBe(1);
  });

  it('stores one card for concurrent requests with one id, and keeps ids apart per merchant and without one', async () => {
    const merchantId = `mer_request_${randomBytes(4).toString('hex')}`;
    const vault = await vaultProcess();
    const answers = await Promise.all(Array.from({ length: 8 }, () => vault.tokenize(intake, merchantId, visa, 'saved', 'req_same')));
    expect(new Set(answers.map((answer) => answer.token)).size).toBe(1);
    expect(await cardsOf(merchantId)).toBe(1);
    await vault.tokenize(intake, `${merchantId}_other`, visa, 'saved', 'req_same');
    await vault.tokenize(intake, merchantId, visa, 'saved');
    await vault.tokenize(intake, merchantId, visa, 'saved');
    expect(await cardsOf(merchantId)).toBe(3);
  });
});
