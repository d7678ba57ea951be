import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { quoteIdentifier } from './data-source';

/**
 * One service's PostgreSQL identity: a LOGIN role that owns the service's schema and everything
 * its migrations create there, and nothing else. Only the vault's role can read the vault.
 */
export interface ServiceDatabaseRole {
  role: string;
  schema: string;
  password: string;
}

/** The one thing the bootstrap needs from a PostgreSQL client (a `pg.Client` fits). */
export interface SqlClient {
  query(sql: string, parameters?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** Shorter generated or supplied passwords are refused: they would be guessable offline from a verifier. */
export const passwordLengthMin = 16;
/** PostgreSQL's own default for SCRAM-SHA-256 verifiers (`scram_iterations`). */
export const scramIterations = 4096;
const scramSaltBytes = 16;
// Serializes bootstraps of one database (launcher restarts, a compose job racing a launcher).
const bootstrapLockKey = 'dirigen:database-roles';

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677). Sending the
 * verifier instead of the password keeps the plaintext out of server logs and pg_stat_statements.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(scramSaltBytes), iterations = scramIterations): string {
  // SASLprep leaves printable ASCII unchanged; anything else would need the full profile, so refuse it.
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('a database password must be printable ASCII without spaces');
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** `adminUrl` with the service role's credentials instead of the admin's: same host, database and options. */
export function serviceDatabaseUrl(adminUrl: string, role: string, password: string): string {
  const url = new URL(adminUrl);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/**
 * Creates or updates every service role and hands each its schema, in the database the client is
 * connected to (as a superuser, or a role with CREATEROLE that owns the database). Idempotent:
 * roles are cluster-wide and may already exist from another database or an earlier run; schemas
 * and grants are per database. Passwords are set on every run, so the caller's copy is the truth.
 */
export async function bootstrapServiceRoles(client: SqlClient, roles: readonly ServiceDatabaseRole[]): Promise<void> {
  assertDistinct(roles);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [bootstrapLockKey]);
    const { rows } = await client.query('SELECT current_database() AS database, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user');
    const admin = rows[0] as { database: string; superuser: boolean };
    for (const service of roles) await provisionRole(client, service, admin.superuser);
    for (const service of roles) await provisionSchema(client, service, roles);
    await lockDownDatabase(client, admin.database, roles);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

function assertDistinct(roles: readonly ServiceDatabaseRole[]): void {
  for (const { role, schema, password } of roles) {
    quoteIdentifier(role);
    quoteIdentifier(schema);
    if (password.length < passwordLengthMin) throw new Error(`the password of ${role} is shorter than ${passwordLengthMin} characters`);
  }
  if (new Set(roles.map((service) => service.role)).size !== roles.length) throw new Error('invariant: two services share a database role');
  if (new Set(roles.map((service) => service.schema)).size !== roles.length) throw new Error('invariant: two services share a schema');
}

async function provisionRole(client: SqlClient, { role, password }: ServiceDatabaseRole, adminIsSuperuser: boolean): Promise<void> {
  const name = quoteIdentifier(role);
  // Another bootstrap (another database on the same cluster) may create the role between the check
  // and CREATE ROLE: its unique violation means the role is there, which is all we want.
  await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${name} LOGIN; END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
  const verifier = scramSha256Verifier(password);
  await client.query(`ALTER ROLE ${name} WITH LOGIN PASSWORD '${verifier}'`);
  // A CREATEROLE admin must be able to act as the role to create its schema and hand it objects.
  if (!adminIsSuperuser) await client.query(`GRANT ${name} TO CURRENT_USER`);
  const { rows } = await client.query('SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb AS privileged FROM pg_roles WHERE rolname = $1', [role]);
  // A privileged service role would read every schema: isolation would only be pretended.
  if (rows[0]?.['privileged'] !== false) throw new Error(`role ${role} has SUPERUSER, BYPASSRLS, CREATEROLE or CREATEDB: remove it before starting`);
}

async function provisionSchema(client: SqlClient, service: ServiceDatabaseRole, all: readonly ServiceDatabaseRole[]): Promise<void> {
  const role = quoteIdentifier(service.role);
  const schema = quoteIdentifier(service.schema);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${role}`);
  await client.query(`ALTER SCHEMA ${schema} OWNER TO ${role}`);
  await adoptObjects(client, service);
  const others = all.filter((other) => other.role !== service.role).map((other) => quoteIdentifier(other.role));
  await client.query(`REVOKE ALL ON SCHEMA ${schema} FROM ${['PUBLIC', ...others].join(', ')}`);
}

/**
 * Objects made before the service had its own role (by migrations run as the admin) move to it,
 * so an existing data directory keeps working. Tables take their indexes, column sequences and
 * row types with them; free-standing sequences and functions are moved one by one. The migrations
 * create no enum or domain types, so those are not handled.
 */
async function adoptObjects(client: SqlClient, { role, schema }: ServiceDatabaseRole): Promise<void> {
  const owner = quoteIdentifier(role);
  const foreignOwned = async (kinds: string) =>
    (
      await client.query(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = ANY($2::"char"[]) AND c.relowner <> $3::regrole`,
        [schema, kinds.split(''), role],
      )
    ).rows.map((row) => String(row['name']));
  for (const table of await foreignOwned('rpvmf')) await client.query(`ALTER TABLE ${table} OWNER TO ${owner}`);
  for (const sequence of await foreignOwned('S')) await client.query(`ALTER SEQUENCE ${sequence} OWNER TO ${owner}`);
  const { rows: routines } = await client.query(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.proowner <> $2::regrole`,
    [schema, role],
  );
  for (const routine of routines) await client.query(`ALTER ROUTINE ${String(routine['signature'])} OWNER TO ${owner}`);
}

/**
 * Only the service roles (and the admin, as owner or superuser) may connect to the database; no
 * role may create schemas in it or objects in `public`. Grants are per database, so this runs
 * for every database the platform is bootstrapped into.
 */
async function lockDownDatabase(client: SqlClient, database: string, roles: readonly ServiceDatabaseRole[]): Promise<void> {
  const name = quoteIdentifier(database);
  await client.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
  await client.query(`GRANT CONNECT ON DATABASE ${name} TO ${roles.map((service) => quoteIdentifier(service.role)).join(', ')}`);
  // PostgreSQL before 15 lets everyone create in `public`; the services never use it. Only its
  // owner (or a superuser) may revoke that, and a database without `public` has nothing to revoke.
  const { rows } = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'public' AND pg_has_role(nspowner, 'USAGE')");
  if (rows.length > 0) await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
}
