import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error plain ESM launcher module without type declarations
import { bootstrapDatabaseRoles, loadOrCreateDatabasePasswords } from './database-roles.mjs';
// @ts-expect-error plain ESM launcher module without type declarations
import { ensurePostgres } from './postgres.mjs';

// The launcher's bootstrap on the embedded PostgreSQL `npm start` falls back to: it checks
// passwords (unlike the trust-auth test server), so this is where a wrong one must fail.

const dataDir = mkdtempSync(join(tmpdir(), 'dirigen-database-roles-'));
const secretsPath = join(dataDir, 'secrets.json');
let database: { url: string; stop: () => Promise<void> };

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

function withPassword(url: string, password: string): string {
  const changed = new URL(url);
  changed.password = password;
  return changed.toString();
}

beforeAll(async () => {
  database = await ensurePostgres({ url: 'postgres://postgres@127.0.0.1:5499/dirigen', dataDir, embeddedPort: 25434, log: () => {} });
  writeFileSync(secretsPath, JSON.stringify({ devApiKey: 'kept as it is' }), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await database?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the launcher database bootstrap', () => {
  it('generates each role a password once, beside the other secrets', () => {
    const first = loadOrCreateDatabasePasswords(dataDir, 'dirigen');
    expect(Object.keys(first).sort()).toEqual(['dirigen_fraud', 'dirigen_gateway', 'dirigen_intake', 'dirigen_routing', 'dirigen_vault']);
    expect(loadOrCreateDatabasePasswords(dataDir, 'dirigen')).toEqual(first);
    // Another database on the same cluster gets roles (and passwords) of its own.
    const other = loadOrCreateDatabasePasswords(dataDir, 'dirigen_other');
    expect(Object.keys(other).filter((role) => role.startsWith('dirigen_other_')).sort()).toEqual(['dirigen_other_fraud', 'dirigen_other_gateway', 'dirigen_other_intake', 'dirigen_other_routing', 'dirigen_other_vault']);
    expect(JSON.parse(readFileSync(secretsPath, 'utf8'))).toMatchObject({ devApiKey: 'kept as it is', databasePasswords: { ...first, ...other } });
  });

  it('lets each service in with its own password only, and the vault role alone read the vault', async () => {
    const urls: Record<string, string> = await bootstrapDatabaseRoles(database.url, loadOrCreateDatabasePasswords(dataDir, 'dirigen'));
    expect(new URL(urls.tokenization!).username).toBe('dirigen_vault');
    for (const url of Object.values(urls)) expect(await query(url, 'SELECT current_user')).toHaveLength(1);
    await expect(query(withPassword(urls.tokenization!, 'not-the-vault-password'), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    await query(urls.tokenization!, 'CREATE TABLE IF NOT EXISTS vault.probe (id int)');
    await expect(query(urls.intake!, 'SELECT * FROM vault.probe')).rejects.toThrow('permission denied for schema vault');
  });

  it('runs again at the next start, taking passwords changed in secrets.json', async () => {
    const passwords = loadOrCreateDatabasePasswords(dataDir, 'dirigen');
    const before: Record<string, string> = await bootstrapDatabaseRoles(database.url, passwords);
    const secrets = JSON.parse(readFileSync(secretsPath, 'utf8'));
    secrets.databasePasswords.dirigen_vault = 'a-rotated-vault-password';
    writeFileSync(secretsPath, JSON.stringify(secrets), { mode: 0o600 });
    const after: Record<string, string> = await bootstrapDatabaseRoles(database.url, loadOrCreateDatabasePasswords(dataDir, 'dirigen'));
    expect(await query(after.tokenization!, 'SELECT count(*) FROM vault.probe')).toHaveLength(1);
    await expect(query(before.tokenization!, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });
});
