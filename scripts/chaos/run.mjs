// `npm run chaos`: a drill, not a test. Starts its own platform (own data dir, ports, broker and, by
// default, its own embedded PostgreSQL so the database can be killed too), offers open-loop payment
// load, and kill -9s, in turn and then all together, every service replica, the broker and the
// database, N rounds each. After each fault it checks that everything accepted became final, that
// every PSP authorization belongs to exactly one succeeded payment, and that the PSP saw no
// idempotency conflict; then prints a table per fault. Exit code 1 when any round fails.
//
//   npm run chaos -- [--rate 40] [--rounds 3] [--replicas 2] [--faults intake-1,kafka,…] [--short]
//                    [--warmup-seconds 3] [--after-seconds 4] [--database-url URL]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { awaitFinal, judge, pspCharges, simulatorStats } from './audit.mjs';
import { offerLoad } from './load.mjs';
import { printReport } from './report.mjs';

const repoRoot = resolve(import.meta.dirname, '../..');
/** Accepted payments must be final this long after the fault's end (the killed processes healthy again), or after their acceptance when later. */
const finalWithinMs = 30_000;
const recoveryTimeoutMs = 180_000;
const healthPollMs = 200;

const { values: options } = parseArgs({
  options: {
    rate: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    replicas: { type: 'string', default: '2' },
    faults: { type: 'string' },
    short: { type: 'boolean', default: false },
    'warmup-seconds': { type: 'string', default: '3' },
    'after-seconds': { type: 'string', default: '4' },
    'database-url': { type: 'string' },
    'data-dir': { type: 'string', default: join(repoRoot, '.data/chaos') },
  },
});
const ratePerSecond = Number(options.rate);
const rounds = options.short ? 1 : Number(options.rounds);
const warmupMs = Number(options['warmup-seconds']) * 1000;
const afterMs = Number(options['after-seconds']) * 1000;
const dataDir = resolve(options['data-dir']);
const runStamp = new Date().toISOString().replace(/[:.]/g, '-');

function say(line) {
  process.stdout.write(`[chaos] ${line}\n`);
}

async function startDrillPlatform() {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  // The drill kills the broker, so it runs its own: never one named by KAFKA_BROKERS.
  delete process.env.KAFKA_BROKERS;
  const { buildProject, startPlatform } = await import('../platform/platform.mjs');
  if (!options.short) buildProject({ log: say });
  const platformLog = join(dataDir, 'platform.log');
  say(`starting a platform for the drill (data in ${dataDir}, logs in ${join(dataDir, 'logs')})…`);
  return startPlatform({
    dataDir,
    // Ports apart from `npm start`'s and the test suite's (and below Linux's ephemeral range, 32768+).
    intakePort: 23080,
    kafkaPort: 24092,
    portOffset: 15_000,
    replicas: Number(options.replicas),
    // Nothing answers there, so the platform runs (and supervises) its own PostgreSQL on that port.
    databaseUrl: options['database-url'] ?? 'postgres://postgres@127.0.0.1:25433/dirigen_chaos',
    embeddedPostgresPort: 25433,
    echo: false,
    log: (line) => writeFileSync(platformLog, `${line}\n`, { flag: 'a' }),
    extraEnv: { LOG_LEVEL: 'warn' },
  });
}

/** Everything the drill can kill: each replica of each service (not the PSP), the broker, the database. */
function faultTargets(platform) {
  const services = platform.processes.filter((entry) => entry.definition.name !== 'psp-simulator');
  const targets = services.map((entry) => ({ name: entry.instance, pidFile: entry.instance, healthy: () => serviceHealthy(entry.port) }));
  if (platform.kafkaEmbedded) targets.push({ name: 'kafka', pidFile: 'kafka', healthy: () => kafkaHealthy(platform.brokers) });
  if (platform.postgresEmbedded) targets.push({ name: 'postgres', pidFile: 'postgres', healthy: () => postgresHealthy(platform.databaseUrl) });
  return targets;
}

/** The faults of this run: each target alone (`--short`: one replica per service), then all together. */
function faultPlan(targets) {
  const chosen = options.faults?.split(',').map((name) => name.trim());
  const firstReplicas = targets.filter((target) => !/-\d+$/.test(target.name) || target.name.endsWith('-1'));
  const alone = chosen ? targets.filter((target) => chosen.includes(target.name)) : options.short ? firstReplicas : targets;
  const plan = alone.map((target) => ({ name: target.name, targets: [target] }));
  if (!chosen || chosen.includes('everything')) plan.push({ name: 'everything', targets });
  return plan;
}

async function serviceHealthy(port) {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

async function kafkaHealthy(brokers) {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const admin = new Kafka({ clientId: 'chaos-health', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000 }).admin();
  try {
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: ['dirigen.payment-events.v1'] });
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function postgresHealthy(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function pidOf(target) {
  try {
    return Number(readFileSync(join(dataDir, 'run', `${target.pidFile}.pid`), 'utf8'));
  } catch {
    return undefined;
  }
}

/** kill -9 every target at once; resolves when each runs again under a new pid and answers healthy. */
async function killAndAwaitRecovery(targets) {
  const pidsBefore = new Map(targets.map((target) => [target.name, pidOf(target)]));
  const killedAt = Date.now();
  for (const target of targets) {
    const pid = pidsBefore.get(target.name);
    if (!pid) throw new Error(`no pid for ${target.name}`);
    process.kill(pid, 'SIGKILL');
  }
  const pending = new Set(targets);
  while (pending.size > 0) {
    if (Date.now() - killedAt > recoveryTimeoutMs) throw new Error(`not recovered within ${recoveryTimeoutMs} ms: ${[...pending].map((target) => target.name).join(', ')}`);
    for (const target of [...pending]) {
      const pid = pidOf(target);
      if (pid && pid !== pidsBefore.get(target.name) && (await target.healthy())) pending.delete(target);
    }
    await sleep(healthPollMs);
  }
  return { killedAt, recoveredAt: Date.now() };
}

async function runRound(platform, fault, round) {
  const drill = `${runStamp}-${fault.name}-${round}`;
  const statsBefore = await simulatorStats(platform.simulatorUrl);
  const load = offerLoad({ apiUrl: platform.apiUrl, apiKey: platform.apiKey, ratePerSecond, runId: drill });
  await sleep(warmupMs);
  const { killedAt, recoveredAt } = await killAndAwaitRecovery(fault.targets);
  await sleep(afterMs);
  await load.stop();
  const tally = await load.done();
  const { payments, finalAt } = await awaitFinal({ apiUrl: platform.apiUrl, apiKey: platform.apiKey, ids: tally.accepted.map((entry) => entry.id), deadline: Math.max(recoveredAt, tally.lastAcceptedAt) + finalWithinMs });
  const charges = await pspCharges({ simulatorUrl: platform.simulatorUrl, drill });
  const statsAfter = await simulatorStats(platform.simulatorUrl);
  const verdict = judge({ tally, payments, finalAt, charges, statsBefore, statsAfter, databaseKilled: fault.targets.some((target) => target.name === 'postgres') });
  verdict.figures.recoverySeconds = (recoveredAt - killedAt) / 1000;
  verdict.figures.finalSecondsAfterFault = finalAt === undefined ? undefined : Math.max(0, (finalAt - recoveredAt) / 1000);
  const errors = Object.entries(verdict.figures.errorCodes).map(([code, count]) => `${count}× ${code}`).join(', ');
  say(`${fault.name} round ${round}: ${verdict.problems.length === 0 ? 'ok' : `FAILED — ${verdict.problems.join('; ')}`} (accepted ${verdict.figures.accepted}, recovered in ${verdict.figures.recoverySeconds.toFixed(1)} s${errors ? `; the merchant saw ${errors}, then retried` : ''})`);
  return verdict;
}

async function main() {
  const platform = await startDrillPlatform();
  const results = [];
  try {
    const plan = faultPlan(faultTargets(platform));
    say(`platform up; ${plan.length} faults × ${rounds} rounds at ${ratePerSecond} payments/s: ${plan.map((fault) => fault.name).join(', ')}`);
    for (const fault of plan) {
      for (let round = 1; round <= rounds; round++) results.push({ fault: fault.name, round, ...(await runRound(platform, fault, round)) });
    }
  } finally {
    await platform.stop();
  }
  const failed = results.filter((result) => result.problems.length > 0);
  printReport(results, { ratePerSecond, rounds });
  const reportPath = join(dataDir, `chaos-${runStamp}.json`);
  writeFileSync(reportPath, JSON.stringify({ ratePerSecond, rounds, results }, null, 2));
  say(`report: ${reportPath}`);
  say(failed.length === 0 ? `every round passed (${results.length})` : `${failed.length} of ${results.length} rounds FAILED`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(`[chaos] drill aborted: ${error.stack ?? error}`);
  process.exit(1);
});
