import { runMigrateMain } from '@dirigen/service-kit';
import { tokenizationMigrations, vaultSchema } from './tokenization.migrations';

void runMigrateMain({ service: 'tokenization', schema: vaultSchema, migrations: tokenizationMigrations });
