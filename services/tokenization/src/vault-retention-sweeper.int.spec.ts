import { createLogger } from '@dirigen/observability';
import { createServiceDataSource, migrateServiceDatabase } from '@dirigen/persistence';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultRetentionSweeper } from './vault-retention-sweeper';
import { tokenizationMigrations, vaultSchema } from './tokenization.migrations';

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
const day = 24 * 3_600_000;
const options = { paymentCardRetentionMs: 7 * day, holdRetentionMs: 31 * day, intervalMs: 60_000, securityCodeIntervalMs: 60_000, batchSizeMax: 100, batchesPerRoundMax: 10 };

/** A card row as the vault stores it (the ciphertext is irrelevant to retention). */
async function insertCard(token: string, kind: 'payment' | 'saved', ageDays: number): Promise<void> {
  await dataSource.query(
    `INSERT INTO vault.cards (token, merchant_id, data_key_version, nonce, ciphertext, auth_tag, brand, last4, bin, exp_month, exp_year, fingerprint, cvc_supplied, kind, created_at)
     VALUES ($1, 'mer_retention', 1, '\\x00', '\\x00', '\\x00', 'visa', '4242', '424242', 12, 2030, 'fp', false, $2, now() - make_interval(days => $3))`,
    [token, kind, ageDays],
  );
}
let dataSource: DataSource;

beforeAll(async () => {
  await migrateServiceDatabase({ url: databaseUrl, schema: vaultSchema, applicationName: 'retention-sweeper.int.spec', migrations: tokenizationMigrations });
  dataSource = await createServiceDataSource({ url: databaseUrl, schema: vaultSchema, applicationName: 'retention-sweeper.int.spec', poolSizeMax: 2 }).initialize();
});

afterAll(async () => {
  await dataSource?.destroy();
});

describe('vault retention sweeper', () => {
  it('forgets holds past retention, in bounded batches, and keeps recent ones', async () => {
    await dataSource.query(
      `INSERT INTO vault.security_code_holds (token, payment_id, held_at)
       SELECT 'tok_sweep_old', 'pay_' || n, now() - interval '40 days' FROM generate_series(1, 5) n
       UNION ALL SELECT 'tok_sweep_new', 'pay_recent', now() - interval '1 hour'`,
    );
    const sweeper = new VaultRetentionSweeper(dataSource, createLogger('retention-int'), { ...options, batchSizeMax: 3 });
    expect(await sweeper.sweepHolds()).toBe(3);
    expect(await sweeper.sweepHolds()).toBe(2);
    expect(await sweeper.sweepHolds()).toBe(0);
    const left: { token: string }[] = await dataSource.query("SELECT token FROM vault.security_code_holds WHERE token LIKE 'tok_sweep_%'");
    expect(left).toEqual([{ token: 'tok_sweep_new' }]);
  });

  it("destroys a payment's card after its retention, in batches, and never a saved card", async () => {
    for (let index = 0; index < 5; index++) await insertCard(`tok_retention_old_${index}`, 'payment', 8);
    await insertCard('tok_retention_recent', 'payment', 1);
    await insertCard('tok_retention_saved', 'saved', 400);
    const sweeper = new VaultRetentionSweeper(dataSource, createLogger('retention-int'), { ...options, batchSizeMax: 2 });
    expect(await sweeper.sweep()).toMatchObject({ paymentCards: 5 });
    const left: { token: string }[] = await dataSource.query("SELECT token FROM vault.cards WHERE token LIKE 'tok_retention_%' ORDER BY token");
    expect(left).toEqual([{ token: 'tok_retention_recent' }, { token: 'tok_retention_saved' }]);
  });
});
