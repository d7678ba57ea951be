import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM launcher module without type declarations
import { claimDatabase, claimOf } from './database-claim.mjs';

// Two checkouts on one PostgreSQL: each database is claimed by one platform (data dir), so a second
// checkout never runs on the first one's keys and role passwords.

const serverUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const base = `dirigen_claim_${randomBytes(3).toString('hex')}`;
const created = new Set<string>();

function urlOf(name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf('postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function createDatabase(name: string, withVault = false): Promise<string> {
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  created.add(name);
  if (withVault) {
    const client = new pg.Client({ connectionString: urlOf(name) });
    await client.connect();
    await client.query('CREATE SCHEMA vault; CREATE TABLE vault.key_encryption_keys (version int)');
    await client.end();
  }
  return urlOf(name);
}

afterAll(async () => {
  for (const name of [...created, `${base}_second00`, `${base}_third000`]) await admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
});

const quiet = () => undefined;

describe('claiming the database of a local platform', () => {
  it('lets the first platform claim the default database, and gives a second checkout a database of its own', async () => {
    const requestedUrl = await createDatabase(base);
    expect(await claimDatabase({ requestedUrl, explicit: false, platformId: 'first000', dataDir: '/a/.data', freshDataDir: true, log: quiet })).toBe(requestedUrl);
    expect(await claimOf(requestedUrl, base)).toBe('first000');
    // The first platform starts again: still its own.
    expect(await claimDatabase({ requestedUrl, explicit: false, platformId: 'first000', dataDir: '/a/.data', freshDataDir: false, log: quiet })).toBe(requestedUrl);
    const lines: string[] = [];
    const second = await claimDatabase({ requestedUrl, explicit: false, platformId: 'second00', dataDir: '/b/.data', freshDataDir: true, log: (line: string) => lines.push(line) });
    expect(new URL(second).pathname).toBe(`/${base}_second00`);
    expect(await claimOf(second, `${base}_second00`)).toBe('second00');
    expect(lines.join('\n')).toContain('belongs to another checkout');
  });

  it('refuses a database the operator named when another platform claimed it, saying what to do', async () => {
    const requestedUrl = urlOf(base);
    await expect(claimDatabase({ requestedUrl, explicit: true, platformId: 'third000', dataDir: '/c/.data', freshDataDir: true, log: quiet })).rejects.toThrow(
      /belongs to another Dirigen platform \(id first000.*npm run reset/,
    );
  });

  it('does not let a new data dir take a database set up before claims existed, which holds another vault', async () => {
    const name = `${base}_old`;
    const requestedUrl = await createDatabase(name, true);
    const fresh = await claimDatabase({ requestedUrl, explicit: false, platformId: 'third000', dataDir: '/c/.data', freshDataDir: true, log: quiet });
    expect(new URL(fresh).pathname).toBe(`/${name}_third000`);
    created.add(`${name}_third000`);
    // The data dir that set it up (not new) claims it.
    expect(await claimDatabase({ requestedUrl, explicit: false, platformId: 'olddir00', dataDir: '/d/.data', freshDataDir: false, log: quiet })).toBe(requestedUrl);
  });
});
