import type { DataSource } from 'typeorm';
import { quoteIdentifier } from './data-source';

export interface MaintainedTable {
  schema: string;
  table: string;
}

/** Dead tuples a table may hold before it is vacuumed: at least this many… */
const deadTuplesMin = 1_000;
/** …and this share of its live rows (autovacuum's default scale factor). */
const deadTupleShareMax = 0.2;

/**
 * VACUUMs those of `tables` whose dead tuples passed autovacuum's default threshold (a fifth of
 * their live rows, at least a thousand), and answers which. For the tables a service churns (a fold
 * updated per event, an outbox, held security codes) where autovacuum is off, as on some CI
 * machines, or lagging: without it dead tuples pile up and every index lookup walks them. Cheap
 * when there is nothing to do (one look at the statistics); a refusal (not the owner) is an error.
 */
export async function vacuumWhereDead(dataSource: DataSource, tables: readonly MaintainedTable[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const due: { schemaname: string; relname: string }[] = await dataSource.query(
    `SELECT s.schemaname, s.relname FROM pg_stat_user_tables s
       JOIN unnest($1::text[], $2::text[]) AS t(schema_name, table_name) ON s.schemaname = t.schema_name AND s.relname = t.table_name
      WHERE s.n_dead_tup >= $3::bigint AND s.n_dead_tup > $4::float8 * s.n_live_tup`,
    [tables.map((entry) => entry.schema), tables.map((entry) => entry.table), deadTuplesMin, deadTupleShareMax],
  );
  const names = due.map((entry) => `${quoteIdentifier(entry.schemaname)}.${quoteIdentifier(entry.relname)}`);
  if (names.length > 0) await dataSource.query(`VACUUM ${names.join(', ')}`);
  return names;
}
