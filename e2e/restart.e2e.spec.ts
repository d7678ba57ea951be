import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cardPayment, platform } from './support/api';

const repoRoot = resolve(process.cwd());
const dataDir = join(repoRoot, '.data/test/restart');
const database = 'dirigen_restart';

/** A database on the server the suite's platform runs on (host, port and credentials from its URL: the runner may use an embedded PostgreSQL on another port). */
function databaseUrl(name: string): string {
  return Object.assign(new URL(platform.databaseUrl), { pathname: `/${name}` }).toString();
}

/** A fresh database, like the fresh data dir: nothing left from an earlier run (or an earlier schema) may help or hinder. */
async function recreateDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

interface Platform {
  apiUrl: string;
  apiKey: string;
  stop(): Promise<void>;
}

async function start(): Promise<Platform> {
  const { startPlatform } = await import(join(repoRoot, 'scripts/platform/platform.mjs'));
  // Its own broker (not the suite's), data dir and database: exactly what `npm start` does, on other ports
  // (all below 32768: a port in Linux's ephemeral range can be taken by any outgoing connection).
  const brokers = process.env.KAFKA_BROKERS;
  delete process.env.KAFKA_BROKERS;
  try {
    return await startPlatform({ dataDir, intakePort: 28080, kafkaPort: 29192, portOffset: 20_000, replicas: 1, databaseUrl: databaseUrl(database), echo: false, log: () => {} });
  } finally {
    process.env.KAFKA_BROKERS = brokers;
  }
}

async function call(platform: Platform, path: string, body?: unknown) {
  const response = await fetch(`${platform.apiUrl}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${platform.apiKey}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

let running: Platform | undefined;
afterAll(async () => {
  await running?.stop();
});

describe('the platform keeps its state across a restart', () => {
  it('still has earlier payments, with their timelines, after stop and start', async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await recreateDatabase();
    running = await start();
    const created = await call(running, '/v1/payments', cardPayment({ amount: 4321 }));
    expect(created.body.status).toBe('succeeded');
    const key = running.apiKey;
    await running.stop();
    running = await start();
    expect(running.apiKey).toBe(key);
    const fetched = await call(running, `/v1/payments/${created.body.id}`);
    expect(fetched.body).toEqual(created.body);
    expect((await call(running, `/v1/payments/${created.body.id}/events`)).body.data).toHaveLength(5);
    // And the restarted broker and services carry on with new payments.
    expect((await call(running, '/v1/payments', cardPayment({ amount: 1234 }))).body.status).toBe('succeeded');
  }, 240_000);
});
