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
import { VaultRetentionSweeper } from './vault-retention-sweeper';

// Security codes held until authorization (PCI DSS 3.3.2) against the real PostgreSQL, served by two
// vault replicas: each its own process state (data key cache, connection pool), one database and KEK.

const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
// Its own database: the KEK registry is per database.
const databaseName = 'dirigen_test_held_security_codes';
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${databaseName}` }).toString();
const secrets = { intake: 'intake-secret-for-held-codes-test', gateway: 'gateway-secret-for-held-codes-test' };
const intake = { name: 'intake', secret: secrets.intake, certificateName: 'intake' };
const gateway = { name: 'gateway', secret: secrets.gateway, certificateName: 'gateway' };
const visa = { number: '4242424242424242', expMonth: 12, expYear: new Date().getUTCFullYear() + 8, cvc: '123' };
const sweeperOptions = { paymentCardRetentionMs: 7 * 86_400_000, holdRetentionMs: 31 * 86_400_000, intervalMs: 60_000, securityCodeIntervalMs: 60_000, batchSizeMax: 100, batchesPerRoundMax: 10 };

let kekFile: string;
const dataSources: DataSource[] = [];

/** One vault replica: its own connection pool and key caches over the shared database. */
interface Replica {
  vault: CardVault;
  dataSource: DataSource;
}

async function replica(securityCodeTtlMs = 60_000): Promise<Replica> {
  const dataSource = await createServiceDataSource({ url: databaseUrl, schema: vaultSchema, applicationName: 'held-security-codes.int.spec', poolSizeMax: 3 }).initialize();
  dataSources.push(dataSource);
  const keys = new DataKeys(new PgKeyStore(dataSource), () => readKeyEncryptionKeys({ file: kekFile, sharesMin: 2 }), { currentVersionTtlMs: 0, cachedKeysMax: 100, kekReloadIntervalMs: 0 });
  await keys.start();
  const vault = new CardVault(
    dataSource,
    new VaultCrypto(keys),
    new CallerAuthenticator(`intake:${secrets.intake},gateway:${secrets.gateway}`, { certificateRequired: true }),
    new CallerRateLimiter(new Map([['gateway', { ratePerSecond: 10_000, burst: 10_000 }]])),
    createLogger('held-security-codes-int'),
    { securityCodeTtlMs },
  );
  return { vault, dataSource };
}

/** A replica gone as after kill -9: its connections dropped, its memory lost. */
async function kill(gone: Replica): Promise<void> {
  await gone.dataSource.destroy();
}

function newMerchant(): string {
  return `mer_held_${randomBytes(4).toString('hex')}`;
}

async function heldRows(token: string): Promise<Record<string, unknown>[]> {
  const [reader] = dataSources.filter((dataSource) => dataSource.isInitialized);
  return reader!.query('SELECT * FROM vault.held_security_codes WHERE token = $1 ORDER BY payment_id', [token]);
}

/** A saved card whose code given at saving was used by a first payment: on file, without a code. */
async function cardOnFile(vault: CardVault, merchantId: string): Promise<string> {
  const { token } = await vault.tokenize(intake, merchantId, visa, 'saved');
  await vault.releaseCvc(gateway, merchantId, token, 'pay_first');
  return token;
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
  await migrateServiceDatabase({ url: databaseUrl, schema: vaultSchema, applicationName: 'held-security-codes.int.spec', migrations: tokenizationMigrations });
  kekFile = join(mkdtempSync(join(tmpdir(), 'held-codes-kek-')), 'kek.json');
  writeFileSync(kekFile, JSON.stringify({ versions: { 1: randomBytes(32).toString('base64') } }));
});

afterAll(async () => {
  await Promise.all(dataSources.filter((dataSource) => dataSource.isInitialized).map((dataSource) => dataSource.destroy()));
});

describe('a security code held by one vault replica', () => {
  it('is given by the other replica after the one that took it is killed: a saved card paid with its code', async () => {
    const [a, b] = [await replica(), await replica()];
    const merchantId = newMerchant();
    const token = await cardOnFile(a.vault, merchantId);
    await a.vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_1', cvc: '456' });
    await kill(a);
    expect(await b.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_1' })).toEqual({ ...visa, cvc: '456' });
    // Another payment with the same card never gets it.
    expect(await b.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_2' })).not.toHaveProperty('cvc');
  });

  it('is given by the other replica after the one that tokenized the card is killed: a new card paid with its code', async () => {
    const [a, b] = [await replica(), await replica()];
    const merchantId = newMerchant();
    const { token } = await a.vault.tokenize(intake, merchantId, { ...visa, cvc: '789' }, 'payment', 'req_1');
    await kill(a);
    expect(await b.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_1' })).toMatchObject({ number: visa.number, cvc: '789' });
    // The caller's retry of the tokenization (its answer lost with replica A) gets the same token, its code held once.
    expect((await b.vault.tokenize(intake, merchantId, { ...visa, cvc: '789' }, 'payment', 'req_1')).token).toBe(token);
    expect(await heldRows(token)).toHaveLength(1);
  });

  it('is erased, on any replica, once the authorization is recorded; that payment never gets the card without it, the next ones get it on file', async () => {
    const [a, b] = [await replica(), await replica()];
    const merchantId = newMerchant();
    const { token } = await a.vault.tokenize(intake, merchantId, visa, 'saved');
    await a.vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_1', cvc: '456' });
    expect((await heldRows(token)).map((row) => row.payment_id)).toEqual(['', 'pay_1']);
    await b.vault.releaseCvc(gateway, merchantId, token, 'pay_1');
    expect(await heldRows(token)).toEqual([]);
    // A late duplicate of pay_1's authorization would send the PSP the same attempt with another body.
    await expect(a.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_1' })).rejects.toMatchObject({ code: 'cvc_expired' });
    expect(await a.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_2' })).toEqual({ number: visa.number, expMonth: 12, expYear: visa.expYear });
    const [{ cvc_supplied: cvcSupplied }]: { cvc_supplied: boolean }[] = await b.dataSource.query('SELECT cvc_supplied FROM vault.cards WHERE token = $1', [token]);
    expect(cvcSupplied).toBe(false);
    // A repeated release (the gateway's retry) finds nothing left to erase.
    await b.vault.releaseCvc(gateway, merchantId, token, 'pay_1');
  });

  it("never hands out a payment's card without its code: released (a late duplicate of the authorization) it is cvc_expired", async () => {
    const [a, b] = [await replica(), await replica()];
    const merchantId = newMerchant();
    const { token } = await a.vault.tokenize(intake, merchantId, visa, 'payment');
    expect(await b.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_1' })).toEqual({ number: visa.number, expMonth: 12, expYear: visa.expYear, cvc: visa.cvc });
    await a.vault.releaseCvc(gateway, merchantId, token, 'pay_1');
    await expect(b.vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_1' })).rejects.toMatchObject({ code: 'cvc_expired' });
  });

  it('is erased with its card when the merchant deletes the token', async () => {
    const { vault } = await replica();
    const merchantId = newMerchant();
    const { token } = await vault.tokenize(intake, merchantId, visa, 'saved');
    await vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_1', cvc: '456' });
    await vault.deleteToken(intake, merchantId, token);
    expect(await heldRows(token)).toEqual([]);
  });

  it('fails the authorization closed once expired (cvc_expired, never the card without its code), and the sweeper erases it', async () => {
    const ttlMs = 300;
    const [a, b] = [await replica(ttlMs), await replica(ttlMs)];
    const merchantId = newMerchant();
    const { token: newCard } = await a.vault.tokenize(intake, merchantId, visa, 'payment');
    const savedCard = await cardOnFile(a.vault, merchantId);
    await a.vault.holdSecurityCode(intake, { merchantId, token: savedCard, paymentId: 'pay_1', cvc: '456' });
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 100));
    await expect(b.vault.detokenize(gateway, { merchantId, token: newCard, purpose: 'authorization', paymentId: 'pay_0' })).rejects.toMatchObject({ code: 'cvc_expired' });
    await expect(b.vault.detokenize(gateway, { merchantId, token: savedCard, purpose: 'authorization', paymentId: 'pay_1' })).rejects.toMatchObject({ code: 'cvc_expired' });
    // Both replicas sweep at once, as they do in production: each row is erased once, by one of them.
    const sweepers = [a, b].map((one) => new VaultRetentionSweeper(one.dataSource, createLogger('held-security-codes-int'), sweeperOptions));
    const swept = await Promise.all(sweepers.map((sweeper) => sweeper.sweepSecurityCodes()));
    expect(swept[0]! + swept[1]!).toBeGreaterThanOrEqual(2);
    expect([...(await heldRows(newCard)), ...(await heldRows(savedCard))]).toEqual([]);
  });

  it('is stored as ciphertext only, in an unlogged table (never in the WAL, so never in its archives or base backups)', async () => {
    const { vault, dataSource } = await replica();
    const merchantId = newMerchant();
    const token = await cardOnFile(vault, merchantId);
    await vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_1', cvc: '456' });
    const [row] = await heldRows(token);
    expect(Object.keys(row!).sort()).toEqual(['auth_tag', 'ciphertext', 'data_key_version', 'expires_at', 'merchant_id', 'nonce', 'payment_id', 'token']);
    expect((row!.ciphertext as Buffer).length).toBe(3);
    expect((row!.ciphertext as Buffer).equals(Buffer.from('456'))).toBe(false);
    expect((row!.nonce as Buffer).length).toBe(12);
    expect((row!.auth_tag as Buffer).length).toBe(16);
    const [{ relpersistence }]: { relpersistence: string }[] = await dataSource.query("SELECT relpersistence FROM pg_class WHERE oid = 'vault.held_security_codes'::regclass");
    expect(relpersistence).toBe('u');
    // No other vault table has a column that could hold a code.
    const columns: { table_name: string; column_name: string }[] = await dataSource.query(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'vault' AND column_name ~ '(cvc|cvv|security_code)' ORDER BY 1, 2",
    );
    expect(columns).toEqual([{ table_name: 'cards', column_name: 'cvc_supplied' }]);
  });

  it('fails closed when its ciphertext is altered or moved to another payment', async () => {
    const { vault, dataSource } = await replica();
    const merchantId = newMerchant();
    const token = await cardOnFile(vault, merchantId);
    await vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_1', cvc: '456' });
    await vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_2', cvc: '789' });
    await dataSource.query("UPDATE vault.held_security_codes SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) WHERE token = $1 AND payment_id = 'pay_1'", [token]);
    await expect(vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_1' })).rejects.toMatchObject({ code: 'integrity_failure' });
    // pay_2's sealed code copied into pay_3's row opens for nobody: the payment is bound in.
    await vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_3', cvc: '111' });
    await dataSource.query(
      `UPDATE vault.held_security_codes AS moved SET nonce = source.nonce, ciphertext = source.ciphertext, auth_tag = source.auth_tag
       FROM vault.held_security_codes AS source WHERE moved.token = $1 AND moved.payment_id = 'pay_3' AND source.token = $1 AND source.payment_id = 'pay_2'`,
      [token],
    );
    await expect(vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_3' })).rejects.toMatchObject({ code: 'integrity_failure' });
    expect(await vault.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_2' })).toMatchObject({ cvc: '789' });
  });
});
