// PostgreSQL's own counters for the platform's database: transactions committed (pg_stat_database)
// and statements run (pg_stat_statements, when the server loads it), per statement.
import pg from 'pg';

/** Statements listed in the report, by calls. */
export const topStatementsCount = 10;
/** Query text shown per statement. */
const queryTextLengthMax = 100;

/**
 * Opens one connection to the platform's database (the admin URL: a superuser in local mode) and
 * makes sure pg_stat_statements exists there when the server loads the library. `snapshot()` reads
 * the counters; our own statements (run as the admin user, which no service uses) are left out of
 * the statement counts. Commits are counted by PostgreSQL per database: our few snapshot queries
 * are in them, and backends report their commits in batches about once a second (PostgreSQL 15),
 * so the edges of a window are approximate by about a second's commits.
 */
export async function openPostgresCounters(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, statement_timeout: 10_000 });
  await client.connect();
  const statements = await enableStatements(client);
  return {
    databaseName: new URL(databaseUrl).pathname.slice(1),
    statementsAvailable: statements.available,
    statementsUnavailableReason: statements.reason,
    snapshot: () => takeSnapshot(client, statements.available),
    close: () => client.end(),
  };
}

async function enableStatements(client) {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
    return { available: true };
  } catch (error) {
    // Not in shared_preload_libraries, or no right to create the extension: commits are still counted.
    return { available: false, reason: error.message };
  }
}

async function takeSnapshot(client, withStatements) {
  const [{ xact_commit: commits }] = (await client.query('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')).rows;
  if (!withStatements) return { commits: Number(commits) };
  const { rows } = await client.query(
    `SELECT userid::text || ':' || queryid::text AS id, calls, (SELECT rolname FROM pg_roles WHERE oid = userid) AS role,
            left(regexp_replace(query, '\\s+', ' ', 'g'), $1) AS query
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
    [queryTextLengthMax],
  );
  const evictions = (await client.query('SELECT dealloc FROM pg_stat_statements_info')).rows[0]?.dealloc;
  return { commits: Number(commits), statements: new Map(rows.map((row) => [row.id, { calls: Number(row.calls), role: row.role, query: row.query }])), evictions: Number(evictions ?? 0) };
}

/** Commits and statements between two snapshots, per payment, and the statements run most often. */
export function postgresBetween(before, after, payments) {
  const commits = after.commits - before.commits;
  const result = { commits, commitsPerPayment: perPayment(commits, payments) };
  if (!after.statements) return result;
  const deltas = [...after.statements].map(([id, { calls, role, query }]) => ({ calls: calls - (before.statements.get(id)?.calls ?? 0), role, query })).filter((entry) => entry.calls > 0);
  const statements = deltas.reduce((sum, entry) => sum + entry.calls, 0);
  deltas.sort((a, b) => b.calls - a.calls);
  return {
    ...result,
    statements,
    statementsPerPayment: perPayment(statements, payments),
    // pg_stat_statements forgets its least-used entries when full (pg_stat_statements.max): then the counts above are low.
    statementEntriesEvicted: after.evictions - before.evictions,
    topStatements: deltas.slice(0, topStatementsCount).map((entry) => ({ calls: entry.calls, callsPerPayment: perPayment(entry.calls, payments), role: entry.role, query: entry.query })),
  };
}

function perPayment(count, payments) {
  return payments > 0 ? Math.round((count / payments) * 100) / 100 : null;
}
