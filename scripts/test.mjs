// `npm test`: lint (with architecture boundaries), typecheck, proto wire check, unit tests, build,
// then integration and end-to-end tests against a real Kafka broker and a real PostgreSQL.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startKafka } from './platform/kafka.mjs';
import { ensurePostgres } from './platform/postgres.mjs';
import { buildProject } from './platform/platform.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const testDataDir = join(repoRoot, '.data', 'test');
const kafkaPort = Number(process.env.TEST_KAFKA_PORT ?? 19092);
const serverUrl = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
// `npm test -- unit int` runs just those stages; words after `--` filter test files (`npm test -- e2e -- operations`).
const separator = process.argv.indexOf('--');
const only = process.argv.slice(2, separator === -1 ? undefined : separator);
const fileFilters = separator === -1 ? [] : process.argv.slice(separator + 1);
const wants = (stage) => only.length === 0 || only.includes(stage);
const totals = { passed: 0, failed: 0, skipped: 0 };

function step(title, command, args, env = {}) {
  console.log(`\n▶ ${title}`);
  const startedAt = Date.now();
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', ...env } });
  console.log(`  ${title}: ${result.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  return result.status === 0;
}

function vitest(project, env = {}) {
  const report = join(testDataDir, `vitest-${project}.json`);
  const ok = step(`${project} tests`, process.execPath, [join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', '--project', project, ...fileFilters, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], env);
  if (existsSync(report)) {
    const summary = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += summary.numPassedTests;
    totals.failed += summary.numFailedTests;
    totals.skipped += summary.numPendingTests + summary.numTodoTests;
  } else if (!ok) totals.failed += 1;
  return ok;
}

async function recreateDatabase(name) {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  return `${serverUrl}/${name}`;
}

async function main() {
  mkdirSync(testDataDir, { recursive: true });
  let ok = true;
  // The boundary rule (lint, and its int test) needs Nx's project graph; without it the rule is silently skipped.
  ok = step('project graph (for module boundaries)', process.execPath, [join(repoRoot, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects']) && ok;
  if (wants('lint')) {
    ok = step('lint (eslint + Nx module boundaries)', process.execPath, [join(repoRoot, 'node_modules/eslint/bin/eslint.js'), '.', '--max-warnings=0']) && ok;
    ok = step('typecheck', process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']) && ok;
    ok = step('proto wire compatibility', process.execPath, [join(repoRoot, 'scripts/proto-check.mjs')]) && ok;
  }
  if (wants('unit')) ok = vitest('unit') && ok;
  if (!wants('int') && !wants('e2e')) return finish(ok);

  buildProject();
  // Fresh broker and databases for every run: tests never depend on leftovers.
  rmSync(join(testDataDir, 'kafka'), { recursive: true, force: true });
  console.log(`\n▶ starting Kafka for tests on 127.0.0.1:${kafkaPort}`);
  const broker = await startKafka({ dataDir: join(testDataDir, 'kafka'), libsDir: join(repoRoot, '.data', 'kafka-libs'), port: kafkaPort });
  try {
    await ensurePostgres({ url: `${serverUrl}/postgres`, dataDir: testDataDir, log: console.log });
    const env = { KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` };
    if (wants('int')) ok = vitest('int', { ...env, DATABASE_URL: await recreateDatabase('dirigen_test') }) && ok;
    if (wants('e2e')) ok = vitest('e2e', { ...env, DATABASE_URL: await recreateDatabase('dirigen_e2e') }) && ok;
  } finally {
    await new Promise((done) => {
      broker.once('exit', done);
      broker.kill('SIGTERM');
      setTimeout(() => broker.kill('SIGKILL'), 20_000).unref();
    });
  }
  return finish(ok);
}

function finish(ok) {
  console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(ok && totals.failed === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  console.log(`\n${totals.passed} passed, ${Math.max(1, totals.failed)} failed`);
  process.exit(1);
});
