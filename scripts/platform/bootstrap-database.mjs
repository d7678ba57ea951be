// Creates or updates every service's PostgreSQL role and schema (idempotent), before migrations.
// `node scripts/platform/bootstrap-database.mjs` with DATABASE_URL (an admin: superuser, or a role
// with CREATEROLE that owns the database) and one <SERVICE>_DATABASE_PASSWORD per service, e.g.
// TOKENIZATION_DATABASE_PASSWORD for the vault's role (`<database>_vault`, e.g. dirigen_vault in the
// database dirigen). Used by docker-compose and Kubernetes jobs.
import { bootstrapDatabaseRoles } from './database-roles.mjs';
import { databaseNameOf, databasePasswordVariable, databaseRole, databaseServices } from './services.mjs';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('set DATABASE_URL to the admin connection');
const missing = databaseServices.map(({ name }) => databasePasswordVariable(name)).filter((variable) => !process.env[variable]);
if (missing.length > 0) throw new Error(`set ${missing.join(', ')}`);
const databaseName = databaseNameOf(adminUrl);
const passwords = Object.fromEntries(databaseServices.map((definition) => [databaseRole(definition, databaseName), process.env[databasePasswordVariable(definition.name)]]));
await bootstrapDatabaseRoles(adminUrl, passwords);
console.log(JSON.stringify({ msg: 'database roles provisioned', roles: databaseServices.map((definition) => `${databaseRole(definition, databaseName)} owns ${definition.database.schema}`) }));
