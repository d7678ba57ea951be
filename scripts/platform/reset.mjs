// `npm run reset`: wipes this checkout's local platform state, after asking. Deletes the data dir
// (broker log, embedded PostgreSQL, secrets, the vault's local key and certificates, logs, test and
// drill data) but the downloaded broker jars, and drops the database this checkout's platform
// claimed (and its roles) on the PostgreSQL server it used. A database another checkout claimed is
// never touched. Refuses while the platform runs. `--yes` skips the question (scripts, CI).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import pg from 'pg';
import { claimOf } from './database-claim.mjs';
import { databaseNameOf, databaseRole, databaseServices } from './services.mjs';

const repoRoot = resolve(import.meta.dirname, '../..');
const dataDir = join(repoRoot, '.data');
/** Kept: downloaded once per pom, not state. */
const kept = new Set(['kafka-libs']);
const defaultServerUrl = 'postgres://postgres@127.0.0.1:5432/dirigen';

function runningProcesses() {
  const runDir = join(dataDir, 'run');
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((file) => file.endsWith('.pid'))
    .map((file) => ({ name: file.slice(0, -'.pid'.length), pid: Number(readFileSync(join(runDir, file), 'utf8')) }))
    .filter(({ pid }) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
}

/** This checkout's claimed databases on the server: the default name, or `<default>_<platform id>`. */
async function claimedDatabases(platformId) {
  const serverUrl = process.env.DATABASE_URL ?? defaultServerUrl;
  const base = databaseNameOf(serverUrl);
  const found = [];
  for (const name of [base, `${base}_${platformId}`]) {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    try {
      if ((await claimOf(url.toString(), name)) === platformId) found.push(url.toString());
    } catch (error) {
      console.log(`  (no PostgreSQL answers at ${url.host}: ${error.code ?? error.message}; only the embedded one under .data, if any, is wiped)`);
      return found;
    }
  }
  return found;
}

async function dropDatabase(url) {
  const name = databaseNameOf(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    for (const definition of databaseServices) await client.query(`DROP ROLE IF EXISTS "${databaseRole(definition, name)}"`);
  } finally {
    await client.end();
  }
}

async function confirmed() {
  if (process.argv.includes('--yes')) return true;
  if (!process.stdin.isTTY) {
    console.log('Not a terminal: run `npm run reset -- --yes` to reset without the question.');
    return false;
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question('Type "reset" to wipe it all: ');
  prompt.close();
  return answer.trim() === 'reset';
}

async function main() {
  const running = runningProcesses();
  if (running.length > 0) {
    console.log(`The platform is running (${running.map(({ name, pid }) => `${name} pid ${pid}`).join(', ')}): stop it first (Ctrl-C where npm start runs).`);
    process.exit(1);
  }
  const secretsPath = join(dataDir, 'secrets.json');
  const platformId = existsSync(secretsPath) ? JSON.parse(readFileSync(secretsPath, 'utf8')).platformId : undefined;
  const entries = existsSync(dataDir) ? readdirSync(dataDir).filter((entry) => !kept.has(entry)) : [];
  const databases = platformId ? await claimedDatabases(platformId) : [];
  if (entries.length === 0 && databases.length === 0) {
    console.log('Nothing to reset.');
    return;
  }
  console.log('This deletes, for good (the vault key goes with it: cards saved so far can never be read again):');
  for (const entry of entries) console.log(`  .data/${entry}`);
  for (const url of databases) console.log(`  database ${databaseNameOf(url)} on ${new URL(url).host} and its roles (${databaseServices.map((definition) => databaseRole(definition, databaseNameOf(url))).join(', ')})`);
  console.log('It keeps .data/kafka-libs (the broker jars).');
  if (!(await confirmed())) {
    console.log('Nothing was deleted.');
    process.exit(1);
  }
  for (const url of databases) await dropDatabase(url);
  for (const entry of entries) rmSync(join(dataDir, entry), { recursive: true, force: true });
  console.log('Reset. `npm start` begins afresh.');
}

await main();
