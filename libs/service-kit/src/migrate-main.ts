import { migrateServiceDatabase } from '@dirigen/persistence';
import { DataSource, type MigrationInterface } from 'typeorm';
import { readPlatformConfig } from './platform-config';

export interface MigrateMainOptions {
  service: string;
  schema: string;
  migrations: (new () => MigrationInterface)[];
  /** Gives a merchant this service's defaults (idempotent); run with `--seed-merchant <id>`. */
  seedMerchant?: (dataSource: DataSource, merchantId: string, argv: readonly string[]) => Promise<void>;
}

/**
 * The body of every service's `migrate.ts` (run by the launcher, or as a Kubernetes job, before
 * the service starts): applies its schema's migrations, then optionally seeds a merchant.
 */
export async function runMigrateMain(options: MigrateMainOptions, argv: readonly string[] = process.argv): Promise<void> {
  try {
    const config = readPlatformConfig(`${options.service}-migrate`, 0);
    const applied = await migrateServiceDatabase({
      url: config.databaseUrl,
      schema: options.schema,
      applicationName: `${options.service}-migrate`,
      migrations: options.migrations,
    });
    const seedIndex = argv.indexOf('--seed-merchant');
    const merchantId = seedIndex > 0 ? argv[seedIndex + 1] : undefined;
    if (merchantId && options.seedMerchant) {
      const dataSource = await new DataSource({ type: 'postgres', url: config.databaseUrl, applicationName: `${options.service}-seed` }).initialize();
      try {
        await options.seedMerchant(dataSource, merchantId, argv);
      } finally {
        await dataSource.destroy();
      }
    }
    process.stdout.write(`${JSON.stringify({ service: options.service, migrationsApplied: applied, seededMerchant: merchantId ?? null })}\n`);
  } catch (error) {
    process.stderr.write(`${options.service} migration failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  }
}
