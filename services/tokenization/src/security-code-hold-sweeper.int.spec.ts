import { createLogger } from '@dirigen/observability';
import { createServiceDataSource, migrateServiceDatabase } from '@dirigen/persistence';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityCodeHoldSweeper } from './security-code-hold-sweeper';
import { tokenizationMigrations, vaultSchema } from './tokenization.migrations';

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
const day = 24 * 3_600_000;
let dataSource: DataSource;

beforeAll(async () => {
  await migrateServiceDatabase({ url: databaseUrl, schema: vaultSchema, applicationName: 'hold-sweeper.int.spec', migrations: tokenizationMigrations });
  dataSource = await createServiceDataSource({ url: databaseUrl, schema: vaultSchema, applicationName: 'hold-sweeper.int.spec', poolSizeMax: 2 }).initialize();
});

afterAll(async () => {
  await dataSource?.destroy();
});

describe('security-code hold sweeper', () => {
  it('forgets holds past retention, in bounded batches, and keeps recent ones', async () => {
    await dataSource.query(
      `INSERT INTO vault.security_code_holds (token, payment_id, held_at)
       SELECT 'tok_sweep_old', 'pay_' || n, now() - interval '40 days' FROM generate_series(1, 5) n
       UNION ALL SELECT 'tok_sweep_new', 'pay_recent', now() - interval '1 hour'`,
    );
    const sweeper = new SecurityCodeHoldSweeper(dataSource, createLogger('hold-sweeper-int'), { retentionMs: 31 * day, intervalMs: 60_000, batchSizeMax: 3 });
    expect(await sweeper.sweep()).toBe(3);
    expect(await sweeper.sweep()).toBe(2);
    expect(await sweeper.sweep()).toBe(0);
    const left: { token: string }[] = await dataSource.query("SELECT token FROM vault.security_code_holds WHERE token LIKE 'tok_sweep_%'");
    expect(left).toEqual([{ token: 'tok_sweep_new' }]);
  });
});
