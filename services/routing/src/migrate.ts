import { runMigrateMain } from '@dirigen/service-kit';
import { merchantDefaultsSql, routingMigrations, routingSchema } from './routing.migrations';

void runMigrateMain({
  service: 'routing',
  schema: routingSchema,
  migrations: routingMigrations,
  async seedMerchant(dataSource, merchantId) {
    await dataSource.query(merchantDefaultsSql, [merchantId]);
  },
});
