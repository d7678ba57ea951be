import { runMigrateMain } from '@dirigen/service-kit';
import { intakeMigrations, intakeSchema, seedMerchant } from './intake.migrations';

// `--seed-merchant <id> --api-key <secret key>` registers a merchant and its key (stored hashed).
void runMigrateMain({
  service: 'intake',
  schema: intakeSchema,
  migrations: intakeMigrations,
  async seedMerchant(dataSource, merchantId, argv) {
    const keyIndex = argv.indexOf('--api-key');
    await seedMerchant(dataSource, merchantId, keyIndex > 0 ? argv[keyIndex + 1] : process.env.DIRIGEN_SEED_API_KEY);
  },
});
