import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error plain ESM launcher module without type declarations
import { ensurePostgres } from './postgres.mjs';

const dataDir = mkdtempSync(join(tmpdir(), 'dirigen-embedded-pg-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function count(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS survivors (id int)');
    await client.query('INSERT INTO survivors VALUES (1)');
    return Number((await client.query('SELECT count(*) FROM survivors')).rows[0].count);
  } finally {
    await client.end();
  }
}

describe('the platform database', () => {
  it('uses the server at DATABASE_URL when one answers, creating the database', async () => {
    const server = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
    const database = await ensurePostgres({ url: `${server}/dirigen_launcher_check`, dataDir, log: () => {} });
    expect(database.embedded).toBe(false);
    expect(await count(database.url)).toBeGreaterThan(0);
    await database.stop();
  });

  it('starts an embedded PostgreSQL under the data dir when none answers, and keeps its data across restarts', async () => {
    const options = { url: 'postgres://postgres@127.0.0.1:5499/dirigen', dataDir, embeddedPort: 25433, log: () => {} };
    const first = await ensurePostgres(options);
    expect(first.embedded).toBe(true);
    expect(await count(first.url)).toBe(1);
    await first.stop();
    const second = await ensurePostgres(options);
    expect(await count(second.url)).toBe(2);
    await second.stop();
  }, 120_000);
});
