// The platform a bench run measures: the one answering at --url, or one the bench starts itself
// (in platform-process.mjs) on its own data dir and ports, stopped again when the run ends.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { repoRoot } from './options.mjs';

/** Kafka, PostgreSQL claims, migrations and eight services on two busy cores: minutes, not seconds. */
const platformStartTimeoutMs = 300_000;
/** Each process gets 15 s to stop before SIGKILL (supervisor.mjs), all at once; then the broker and PostgreSQL. */
const platformStopTimeoutMs = 120_000;
const defaultServerUrl = 'postgres://postgres@127.0.0.1:5432/dirigen';

export async function reachOrStartPlatform(options, log) {
  if (await answers(`${options.apiUrl}/health`)) {
    log(`a platform answers at ${options.apiUrl}: measuring it (data dir ${options.dataDir})`);
    return reachRunningPlatform(options, log);
  }
  log(`nothing answers at ${options.apiUrl}; starting a platform (data dir ${options.dataDir}, port offset ${options.portOffset}, ${options.replicas} replica(s) per consumer service)…`);
  return startOwnPlatform(options, log);
}

async function reachRunningPlatform(options, log) {
  const secrets = readSecrets(options.dataDir);
  const databaseUrl = options.databaseUrl ?? (await claimedDatabaseUrl(process.env.DATABASE_URL ?? defaultServerUrl, secrets?.platformId));
  if (!databaseUrl) log('its database is unknown (no --database-url, and no database claimed by this data dir\'s platform id): PostgreSQL counters are skipped');
  return {
    startedByBench: false,
    apiUrl: options.apiUrl,
    apiKey: options.apiKey ?? secrets?.devApiKey,
    merchantId: 'mer_dev',
    simulatorUrl: options.simulatorUrl,
    brokers: options.kafkaBrokers,
    databaseUrl,
    dataDir: options.dataDir,
    vaultMetricsUrls: options.vaultMetricsUrls,
    vaultGrpcAddress: options.vaultAddress,
    stop: async () => {},
  };
}

async function startOwnPlatform(options, log) {
  warnOfEphemeralPorts(options, log);
  const { buildProject } = await import('../platform/platform.mjs');
  buildProject({ log });
  mkdirSync(options.dataDir, { recursive: true });
  const logPath = join(options.dataDir, 'bench-platform.log');
  const logFile = openSync(logPath, 'a');
  const startOptions = {
    dataDir: options.dataDir,
    portOffset: options.portOffset,
    intakePort: 8080 + options.portOffset,
    kafkaPort: 9092 + options.portOffset,
    replicas: options.replicas,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    extraEnv: { VAULT_DETOKENIZE_LIMITS: options.vaultDetokenizeLimits },
  };
  const child = fork(join(repoRoot, 'scripts/bench/platform-process.mjs'), [JSON.stringify(startOptions)], { stdio: ['ignore', logFile, logFile, 'ipc'] });
  closeSync(logFile);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  let platform;
  try {
    platform = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the platform did not start within ${platformStartTimeoutMs / 1000} s (log: ${logPath})`)), platformStartTimeoutMs);
      child.on('message', (message) => {
        if (message?.type !== 'ready') return;
        clearTimeout(timer);
        resolve(message.platform);
      });
      exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`the platform process exited (${how}) before it was ready; its log, ${logPath}, ends:\n${tail(logPath)}`));
      });
    });
  } catch (error) {
    await stopChild(child, exited, log);
    throw error;
  }
  log(`platform up: API ${platform.apiUrl}, simulator ${platform.simulatorUrl}, broker ${platform.brokers.join(',')}, database ${new URL(platform.databaseUrl).pathname.slice(1)} (log: ${logPath})`);
  return {
    startedByBench: true,
    ...platform,
    vaultMetricsUrls: platform.processes.filter((entry) => entry.name === 'tokenization').map((entry) => `http://127.0.0.1:${entry.port}/metrics`),
    stop: () => stopChild(child, exited, log),
  };
}

async function stopChild(child, exited, log) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  log('stopping the platform the bench started…');
  if (child.connected) child.send({ type: 'stop' });
  else child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`the platform did not stop within ${platformStopTimeoutMs / 1000} s: SIGKILL to its launcher (its services may be left running)`);
    child.kill('SIGKILL');
  }, platformStopTimeoutMs);
  await exited;
  clearTimeout(timer);
  log('platform stopped');
}

/**
 * A listening port inside Linux's ephemeral range can be held, at the moment the platform binds it, by
 * an outgoing connection's local end (a busy machine makes thousands): the start then fails with
 * "address already in use". Seen with --port-offset 30000 (Kafka on 39092); said, not refused.
 */
function warnOfEphemeralPorts(options, log) {
  let range;
  try {
    range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return; // not Linux
  }
  const vaultReplicas = Math.max(2, options.replicas);
  const highestPort = Math.max(9092 + 1, 8083 + 1_000 * (vaultReplicas - 1)) + options.portOffset; // the broker's controller port, the last vault replica's gRPC port
  const lowestPort = 8080 + options.portOffset;
  if (highestPort >= range[0] && lowestPort <= range[1]) {
    log(`warning: ports ${lowestPort}–${highestPort} reach into the ephemeral range ${range[0]}–${range[1]}: the start may fail with "address already in use"; a --port-offset of at most ${range[0] - 1 - (highestPort - options.portOffset)} keeps them below it`);
  }
}

/** The database a platform id claimed on that server (database-claim.mjs writes the claim as a comment). */
async function claimedDatabaseUrl(serverUrl, platformId) {
  if (!platformId) return undefined;
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query("SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1", [`dirigen platform ${platformId} %`]);
    if (rows.length !== 1) return undefined;
    const url = new URL(serverUrl);
    url.pathname = `/${rows[0].datname}`;
    return url.toString();
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

function readSecrets(dataDir) {
  const path = join(dataDir, 'secrets.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

async function answers(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status < 500;
  } catch {
    return false;
  }
}

function tail(path, lines = 30) {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
