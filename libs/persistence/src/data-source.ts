import { DataSource, type MigrationInterface } from 'typeorm';

export interface ServiceDatabaseOptions {
  url: string;
  /** The service's own schema: services never read each other's tables. */
  schema: string;
  applicationName: string;
  migrations?: (new () => MigrationInterface)[];
  poolSizeMax?: number;
}

/** A TypeORM data source bound to one service schema, with every pool option explicit. */
export function createServiceDataSource(options: ServiceDatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    applicationName: options.applicationName,
    entities: [],
    migrations: options.migrations ?? [],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: {
      max: options.poolSizeMax ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 30_000,
    },
  });
}

/**
 * Applies the service's migrations under an advisory lock, so replicas or a launcher racing
 * each other apply each migration once.
 */
export async function migrateServiceDatabase(options: ServiceDatabaseOptions): Promise<string[]> {
  const bootstrap = createServiceDataSource({ ...options, migrations: [] });
  await bootstrap.initialize();
  try {
    // A service role has no CREATE on the database (the bootstrap made its schema for it), and
    // PostgreSQL checks that right before IF NOT EXISTS: look first, create only when missing.
    const existing: unknown[] = await bootstrap.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [options.schema]);
    if (existing.length === 0) await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(options.schema)}`);
  } finally {
    await bootstrap.destroy();
  }
  const dataSource = createServiceDataSource(options);
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`migrate:${options.schema}`]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrate:${options.schema}`]);
    return applied.map((migration) => migration.name);
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

export function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invariant: unsafe SQL identifier ${name}`);
  return `"${name}"`;
}
