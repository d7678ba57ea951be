// `npm test`: lint (with architecture boundaries), typecheck, proto wire check, unit tests, build,
// then integration and end-to-end tests against a real Kafka broker and a real PostgreSQL, and last the
// card-data scan over everything the end-to-end suite left behind. The closing line is the truth and the
// exit code follows it (scripts/test-summary.mjs).
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startKafka } from './platform/kafka.mjs';
import { ensurePostgres } from './platform/postgres.mjs';
import { buildProject } from './platform/platform.mjs';
import { deathOf, watchChild } from './test-processes.mjs';
import { closingLine, describeExit, exitCodeFor, failedSuiteLines, runVitestStage, stepResult } from './test-summary.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const testDataDir = join(repoRoot, '.data', 'test');
const brokerDataDir = join(testDataDir, 'kafka');
const brokerLogFile = join(testDataDir, 'logs', 'kafka.log');
const brokerStopGraceMs = 20_000;
const kafkaPort = Number(process.env.TEST_KAFKA_PORT ?? 19092);
const serverUrl = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
// `npm test -- unit int` runs just those stages; words after `--` filter test files (`npm test -- e2e -- operations`).
// `e2e` is followed by `scan` (the card-data scan over what it left); `npm test -- scan` scans the last e2e run's data again.
// `chaos` (last) is the short chaos drill on a platform of its own: kill -9 of each service, the broker and the database under load.
const separator = process.argv.indexOf('--');
const only = process.argv.slice(2, separator === -1 ? undefined : separator);
const fileFilters = separator === -1 ? [] : process.argv.slice(separator + 1);
const wants = (stage) => only.length === 0 || only.includes(stage);
const results = [];

function timed(title, run) {
  console.log(`\n▶ ${title}`);
  const startedAt = Date.now();
  const result = run();
  console.log(`  ${title}: ${result.ok ? 'ok' : 'FAILED'} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  results.push(result);
  return result.ok;
}

function step(title, command, args) {
  return timed(title, () => {
    const run = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } });
    return stepResult(title, run.status === 0, describeExit(run));
  });
}

function vitest(project, env = {}, filters = fileFilters) {
  return timed(`${project} tests`, () =>
    runVitestStage({ name: `${project} tests`, args: ['--project', project, ...filters], outcomeFile: join(testDataDir, `outcome-${project}.json`), env: { NX_DAEMON: 'false', ...env } }),
  );
}

/** `postgres://user@host:port` of a database URL: where the test databases are created. */
function serverOf(databaseUrl) {
  const url = new URL(databaseUrl);
  url.pathname = '';
  return url.toString().replace(/\/$/, '');
}

async function recreateDatabase(server, name) {
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  return `${server}/${name}`;
}

/**
 * PostgreSQL: the server at TEST_DATABASE_SERVER, else an embedded one under .data/test, whose log (its output)
 * the card-data scan reads from .data/test/logs/postgres.log; it finds a system server's log itself.
 */
function startPostgres() {
  return ensurePostgres({ url: `${serverUrl}/postgres`, dataDir: testDataDir, log: console.log });
}

async function startBroker({ fresh }) {
  // A fresh broker for every int/e2e run: tests never depend on leftovers. `npm test -- scan` keeps the last one's topics.
  if (fresh) rmSync(brokerDataDir, { recursive: true, force: true });
  mkdirSync(join(testDataDir, 'logs'), { recursive: true });
  const logStream = createWriteStream(brokerLogFile, { flags: fresh ? 'w' : 'a' });
  console.log(`\n▶ starting Kafka for tests on 127.0.0.1:${kafkaPort} (log: ${brokerLogFile})`);
  const broker = await startKafka({ dataDir: brokerDataDir, libsDir: join(repoRoot, '.data', 'kafka-libs'), port: kafkaPort, logStream });
  return watchChild(broker, 'the test Kafka broker');
}

async function main() {
  // Red until proven green: should the event loop ever empty before `finish`, Node exits 1, not 0.
  process.exitCode = 1;
  mkdirSync(testDataDir, { recursive: true });
  // The boundary rule (lint, and its int test) needs Nx's project graph; without it the rule is silently skipped.
  step('project graph (for module boundaries)', process.execPath, [join(repoRoot, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects']);
  if (wants('lint')) {
    step('lint (eslint + Nx module boundaries)', process.execPath, [join(repoRoot, 'node_modules/eslint/bin/eslint.js'), '.', '--max-warnings=0']);
    step('typecheck', process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);
    step('proto wire compatibility', process.execPath, [join(repoRoot, 'scripts/proto-check.mjs')]);
  }
  if (wants('unit')) vitest('unit');
  const scans = wants('e2e') || wants('scan');
  if (!wants('int') && !scans && !wants('chaos')) return finish();

  // The platform runs from the build; the scan alone needs none.
  const runsPlatform = wants('int') || wants('e2e') || wants('chaos');
  const built = !runsPlatform || timed('build', () => {
    try {
      buildProject();
      return stepResult('build', true);
    } catch (error) {
      return stepResult('build', false, error.message);
    }
  });
  if (!built) return finish();
  if (wants('int') || scans) await testsOnTheBroker({ scans, fresh: wants('int') || wants('e2e') });
  // The drill runs its own broker and PostgreSQL (it kills them), after the test broker is stopped.
  if (wants('chaos')) step('chaos drill (short: kill -9 of each service, the broker and the database under load)', process.execPath, [join(repoRoot, 'scripts/chaos/run.mjs'), '--short', '--rate', '10']);
  return finish();
}

async function testsOnTheBroker({ scans, fresh }) {
  const broker = await startBroker({ fresh });
  let postgres;
  let brokerDeath;
  // Before each stage and at the end: a broker that died turns the run red, and later stages would only fail for it.
  const brokerAlive = async () => {
    if (!brokerDeath) {
      brokerDeath = await deathOf(broker, 'the test Kafka broker', kafkaPort);
      if (brokerDeath) {
        results.push(stepResult('test broker', false, brokerDeath));
        console.error(`\n✗ ${brokerDeath}; its log: ${brokerLogFile}`);
      }
    }
    return !brokerDeath;
  };
  try {
    postgres = await startPostgres();
    const server = serverOf(postgres.url);
    const env = { KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`, ...(postgres.logFile ? { DIRIGEN_TEST_POSTGRES_LOG: postgres.logFile } : {}) };
    if (wants('int') && (await brokerAlive())) vitest('int', { ...env, DATABASE_URL: await recreateDatabase(server, 'dirigen_test') });
    if (wants('e2e') && (await brokerAlive())) vitest('e2e', { ...env, DATABASE_URL: await recreateDatabase(server, 'dirigen_e2e') });
    // The scan reads what the e2e suite left (its data dir, its database, the broker's topics and log): never filtered.
    if (scans && (await brokerAlive())) vitest('scan', { ...env, DATABASE_URL: `${server}/dirigen_e2e`, DIRIGEN_TEST_BROKER_LOG: brokerLogFile }, []);
    await brokerAlive();
  } finally {
    await broker.stop(brokerStopGraceMs);
    await postgres?.stop();
  }
}

function finish() {
  const failedSuites = failedSuiteLines(results);
  if (failedSuites.length > 0) console.log(`\nSuites that failed to run:\n${failedSuites.join('\n')}`);
  console.log(`\n${closingLine(results)}`);
  process.exit(exitCodeFor(results));
}

main().catch((error) => {
  console.error(error);
  results.push(stepResult('test runner', false, `crashed: ${error?.message ?? error}`));
  finish();
});
