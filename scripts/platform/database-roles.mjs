// Per-service PostgreSQL roles: the bootstrap run with the admin URL before any migration, and
// the per-service URLs the launcher hands each service and its migrations.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { databaseNameOf, databaseRole, databaseServices } from './services.mjs';

const repoRoot = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const databasePasswordBytes = 24;

/**
 * Local mode: each role's password in `databaseName`, generated once and kept in `<dataDir>/secrets.json`
 * beside the launcher's other secrets (under `databasePasswords`, by role). The file must already exist.
 */
export function loadOrCreateDatabasePasswords(dataDir, databaseName) {
  const path = join(dataDir, 'secrets.json');
  if (!existsSync(path)) throw new Error(`invariant: ${path} is written before the database passwords`);
  const secrets = JSON.parse(readFileSync(path, 'utf8'));
  const passwords = { ...secrets.databasePasswords };
  const missing = databaseServices.map((definition) => databaseRole(definition, databaseName)).filter((role) => !passwords[role]);
  for (const role of missing) passwords[role] = randomBytes(databasePasswordBytes).toString('base64url');
  if (missing.length > 0) writeFileSync(path, JSON.stringify({ ...secrets, databasePasswords: passwords }, null, 2), { mode: 0o600 });
  return passwords;
}

/**
 * Connects with `adminUrl`, creates or updates every service role and schema (idempotent), and
 * resolves with each service's own URL by service name. `passwordsByRole`: role → password.
 */
export async function bootstrapDatabaseRoles(adminUrl, passwordsByRole) {
  const { bootstrapServiceRoles, serviceDatabaseUrl } = require(join(repoRoot, 'dist/libs/persistence/src/database-roles.js'));
  const databaseName = databaseNameOf(adminUrl);
  const roleOf = (definition) => databaseRole(definition, databaseName);
  const roles = databaseServices.map((definition) => ({ role: roleOf(definition), schema: definition.database.schema, password: passwordsByRole[roleOf(definition)] }));
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'dirigen-database-bootstrap', connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await bootstrapServiceRoles(client, roles);
  } finally {
    await client.end();
  }
  return Object.fromEntries(databaseServices.map((definition) => [definition.name, serviceDatabaseUrl(adminUrl, roleOf(definition), passwordsByRole[roleOf(definition)])]));
}
