import { createHash } from 'node:crypto';
import { EntityManager, type DataSource } from 'typeorm';

/** What node-postgres needs to run a named prepared statement. */
interface PgQueryable {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

/** Statement names by text: one name per distinct statement, stable across connections. */
const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `dirigen_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Runs `text` as a named prepared statement: PostgreSQL parses it once per connection and, after
 * a few runs, plans it once too, instead of on every call as an unnamed query (for the hot paths'
 * CTEs, planning costs more than executing). Inside a transaction (`manager` with a query runner)
 * it runs on the transaction's connection; otherwise on any pooled one. Answers the rows, whatever
 * the command (TypeORM's `query` answers an UPDATE or DELETE with `[rows, count]`).
 */
export async function preparedQuery<Row>(executor: DataSource | EntityManager, text: string, values: readonly unknown[]): Promise<Row[]> {
  const result = await (await connectionOf(executor)).query({ name: statementName(text), text, values });
  return result.rows as Row[];
}

async function connectionOf(executor: DataSource | EntityManager): Promise<PgQueryable> {
  if (executor instanceof EntityManager && executor.queryRunner) return (await executor.queryRunner.connect()) as PgQueryable;
  const dataSource = executor instanceof EntityManager ? executor.dataSource : executor;
  // TypeORM's PostgresDriver keeps node-postgres's pool as `master`.
  return (dataSource.driver as unknown as { master: PgQueryable }).master;
}
