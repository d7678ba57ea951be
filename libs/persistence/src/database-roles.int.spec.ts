import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapServiceRoles, scramSha256Verifier, type ServiceDatabaseRole } from './database-roles';

// The bootstrap against the real server, as the launcher runs it (admin connection): roles are
// cluster-wide, so every name here carries this run's id and is dropped afterwards.

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
const runId = randomBytes(4).toString('hex');
const newPassword = () => randomBytes(18).toString('base64url');
const service = (name: string): ServiceDatabaseRole => ({ role: `dirigen_it_${name}_${runId}`, schema: `${name}_${runId}`, password: newPassword() });
const alpha = service('alpha');
const beta = service('beta');
const gamma = service('gamma');
const all = [alpha, beta, gamma];

let admin: Client;

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

async function bootstrap(roles: readonly ServiceDatabaseRole[]): Promise<void> {
  const client = await connect();
  try {
    await bootstrapServiceRoles(client, roles);
  } finally {
    await client.end();
  }
}

/** True when the role's stored SCRAM verifier was made from `password`. */
async function passwordMatches(role: string, password: string): Promise<boolean> {
  const { rows } = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
  const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(rows[0]!.rolpassword) ?? [];
  return scramSha256Verifier(password, Buffer.from(salt!, 'base64'), Number(iterations)) === rows[0]!.rolpassword;
}

async function asRole<T>(role: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    await client.query(`SET ROLE "${role}"`);
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  admin = await connect();
  // gamma: a schema made by the admin before roles existed (an old data directory), and a role
  // that already exists from elsewhere on the cluster with nothing granted here.
  await admin.query(`CREATE SCHEMA "${gamma.schema}"`);
  await admin.query(`CREATE TABLE "${gamma.schema}".entries (id bigserial PRIMARY KEY, body text NOT NULL)`);
  await admin.query(`CREATE SEQUENCE "${gamma.schema}".numbers`);
  await admin.query(`CREATE FUNCTION "${gamma.schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$`);
  await admin.query(`CREATE ROLE "${gamma.role}" NOLOGIN`);
});

afterAll(async () => {
  for (const { role, schema } of all) {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.query(`DROP OWNED BY "${role}"`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS "${role}"`);
  }
  await admin.end();
});

describe('bootstrapServiceRoles', () => {
  it('gives each service a login role that owns its schema and cannot use the others', async () => {
    await bootstrap(all);
    for (const { role, schema, password } of all) {
      const { rows } = await admin.query('SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = $1', [role]);
      expect(rows[0]).toEqual({ rolcanlogin: true, rolsuper: false });
      const owner = await admin.query('SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(owner.rows[0].owner).toBe(role);
      expect(await passwordMatches(role, password)).toBe(true);
    }
    const usage = await admin.query('SELECT has_schema_privilege($1, $2, $3) AS granted', [alpha.role, beta.schema, 'USAGE']);
    expect(usage.rows[0].granted).toBe(false);
    await expect(asRole(alpha.role, (client) => client.query(`SELECT * FROM "${gamma.schema}".entries`))).rejects.toThrow(/permission denied for schema/);
  });

  it('lets only the service roles connect to the database, and none create schemas in it', async () => {
    await bootstrap(all);
    const { rows } = await admin.query(
      `SELECT a.grantee, a.privilege_type FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee = 0`,
    );
    expect(rows).toEqual([]);
    for (const { role } of all) {
      const privileges = await admin.query("SELECT has_database_privilege($1, current_database(), 'CONNECT') AS connect, has_database_privilege($1, current_database(), 'CREATE') AS create", [role]);
      expect(privileges.rows[0]).toEqual({ connect: true, create: false });
    }
  });

  it('hands objects the admin made before the roles existed to the service role', async () => {
    await bootstrap(all);
    const owners = await admin.query(
      `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'S')
        UNION ALL SELECT p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p WHERE p.pronamespace = $1::regnamespace ORDER BY 1`,
      [gamma.schema],
    );
    expect(owners.rows).toEqual([
      { name: 'entries', owner: gamma.role },
      { name: 'entries_id_seq', owner: gamma.role },
      { name: 'numbers', owner: gamma.role },
      { name: 'refuse', owner: gamma.role },
    ]);
    const inserted = await asRole(gamma.role, (client) => client.query(`INSERT INTO "${gamma.schema}".entries (body) VALUES ('mine') RETURNING id`));
    expect(inserted.rows).toHaveLength(1);
  });

  it('runs again, concurrently too, without failing, and takes the new passwords', async () => {
    for (const entry of all) entry.password = newPassword();
    await Promise.all([bootstrap(all), bootstrap(all), bootstrap(all)]);
    for (const { role, password } of all) expect(await passwordMatches(role, password)).toBe(true);
  });

  it('refuses a password too short to stand up to an offline guess, before touching the server', async () => {
    await expect(bootstrap([{ ...alpha, password: 'short' }])).rejects.toThrow(/shorter than 16 characters/);
    expect(await passwordMatches(alpha.role, alpha.password)).toBe(true);
  });
});
