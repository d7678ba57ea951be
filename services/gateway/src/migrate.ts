import { runMigrateMain } from '@dirigen/service-kit';
import { gatewayMigrations, gatewaySchema } from './gateway.migrations';

void runMigrateMain({ service: 'gateway', schema: gatewaySchema, migrations: gatewayMigrations });
