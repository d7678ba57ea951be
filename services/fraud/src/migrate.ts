import { runMigrateMain } from '@dirigen/service-kit';
import { fraudMigrations, fraudSchema, merchantDefaultsSql } from './fraud.migrations';

void runMigrateMain({
  service: 'fraud',
  schema: fraudSchema,
  migrations: fraudMigrations,
  async seedMerchant(dataSource, merchantId) {
    const { sql, parameters } = merchantDefaultsSql(merchantId);
    await dataSource.query(sql, parameters);
  },
});
