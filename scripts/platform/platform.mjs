// Brings up the whole platform: Kafka, PostgreSQL, topics, migrations, every service as its own
// process, a load balancer in front of the intake replicas. Used by `npm start` and the e2e tests.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { claimDatabase } from './database-claim.mjs';
import { bootstrapDatabaseRoles, loadOrCreateDatabasePasswords } from './database-roles.mjs';
import { kafkaCommand, kafkaStartTimeoutMs } from './kafka.mjs';
import { startLoadBalancer } from './load-balancer.mjs';
import { portOpen, waitForPort } from './ports.mjs';
import { ensurePostgres } from './postgres.mjs';
import { databaseNameOf, serviceDefinitions } from './services.mjs';
import { SupervisedProcess } from './supervisor.mjs';
import { ensureLocalVaultTls } from './vault-tls.mjs';

export const repoRoot = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const healthTimeoutMs = 60_000;
const defaultDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/dirigen';
export const devMerchantId = 'mer_dev';

/** Secrets generated once per data dir (local mode only; production provides them). */
function loadOrCreateSecrets(dataDir) {
  const path = join(dataDir, 'secrets.json');
  if (existsSync(path)) {
    const existing = JSON.parse(readFileSync(path, 'utf8'));
    // Data dirs from before the auditor credential (or the platform id) existed get one.
    if (!existing.vaultCallers.auditor || !existing.platformId) {
      existing.vaultCallers.auditor ??= randomBytes(24).toString('base64url');
      existing.platformId ??= newPlatformId();
      writeFileSync(path, JSON.stringify(existing, null, 2), { mode: 0o600 });
    }
    return { ...existing, fresh: false };
  }
  const secrets = {
    /** Names this data dir's platform: the database it claims (and, when the default is taken, names its own). */
    platformId: newPlatformId(),
    intakeRequestHashSecret: randomBytes(32).toString('base64url'),
    vaultCallers: { intake: randomBytes(24).toString('base64url'), gateway: randomBytes(24).toString('base64url'), auditor: randomBytes(24).toString('base64url') },
    devApiKey: `sk_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { ...secrets, fresh: true };
}

/** 8 characters of [a-z0-9]: part of a database name, so lower-case and identifier-safe. */
function newPlatformId() {
  return [...randomBytes(8)].map((byte) => 'abcdefghijklmnopqrstuvwxyz0123456789'[byte % 36]).join('');
}

/**
 * Local mode's vault key-encryption key: one file under the data dir, generated once. Production
 * assembles the KEK from custodian shares instead (VAULT_KEK_SHARES_DIR, see README).
 */
function ensureLocalKek(dataDir, log) {
  const path = join(dataDir, 'vault', 'kek.json');
  if (!existsSync(path)) {
    mkdirSync(join(dataDir, 'vault'), { recursive: true, mode: 0o700 });
    writeFileSync(path, JSON.stringify({ versions: { 1: randomBytes(32).toString('base64') } }, null, 2), { mode: 0o600 });
    log(`[platform] vault: local mode, generated its key-encryption key at ${path} (development only; production uses custodian shares, VAULT_KEK_SHARES_DIR)`);
  }
  return path;
}

export function buildProject({ log = console.log } = {}) {
  log('[platform] compiling TypeScript (tsc -p tsconfig.build.json)…');
  const result = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.build.json')], { stdio: 'inherit', cwd: repoRoot });
  if (result.status !== 0) throw new Error('TypeScript build failed');
}

async function provisionTopics(brokers) {
  const { Kafka, logLevel } = require('kafkajs');
  const { platformTopics, provisionTopics: provision } = require(join(repoRoot, 'dist/libs/messaging/src/topics.js'));
  const kafka = new Kafka({ clientId: 'platform-provisioner', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await provision(admin, platformTopics);
  } finally {
    await admin.disconnect();
  }
}

function nodeArgs(entry) {
  // DIRIGEN_NODE_ARGS: extra flags for every service process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = process.env.DIRIGEN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return [...extra, '--enable-source-maps', '-r', join(repoRoot, 'scripts/platform/register-paths.cjs'), join(repoRoot, 'dist', entry)];
}

function runMigrations(definition, env, merchantId, apiKey) {
  const entry = definition.entry.replace(/main\.js$/, 'migrate.js');
  const args = [...nodeArgs(entry), '--seed-merchant', merchantId, ...(definition.seedsApiKey ? ['--api-key', apiKey] : [])];
  return new Promise((resolvePromise, reject) => {
    const child = require('node:child_process').spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => (code === 0 ? resolvePromise(output) : reject(new Error(`${definition.name} migrations failed:\n${output}`))));
  });
}

async function waitHealthy(port, path, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error.cause?.code ?? error);
    }
    await sleep(250);
  }
  throw new Error(`service on port ${port} not healthy after ${timeoutMs} ms: ${last}`);
}

/**
 * Starts everything and resolves with a handle: `{ apiUrl, apiKey, processes, stop() }`.
 * Options: dataDir, intakePort, kafkaPort, portOffset (added to every service port), replicas,
 * databaseUrl, embeddedPostgresPort (when no server answers at databaseUrl), echo (print service logs), extraEnv.
 */
export async function startPlatform(options = {}) {
  const log = options.log ?? console.log;
  const dataDir = resolve(options.dataDir ?? join(repoRoot, '.data'));
  const portOffset = options.portOffset ?? 0;
  const intakePort = options.intakePort ?? 8080;
  const kafkaPort = options.kafkaPort ?? 9092;
  const replicas = options.replicas ?? 1;
  const secrets = loadOrCreateSecrets(dataDir);
  // The vault and its callers speak mutual TLS: each gets its own certificate and key, and the CA.
  // Issued before anything starts, so a missing openssl fails the start at once.
  const vaultTls = ensureLocalVaultTls(dataDir, log);
  const apiKey = process.env.DIRIGEN_DEV_API_KEY || secrets.devApiKey;
  const logsDir = join(dataDir, 'logs');
  const runDir = join(dataDir, 'run');
  mkdirSync(logsDir, { recursive: true });
  const stack = [];
  const stop = async () => {
    for (const step of stack.reverse()) await step().catch((error) => log(`[platform] stop step failed: ${error}`));
    stack.length = 0;
  };
  try {
    let brokers = process.env.KAFKA_BROKERS?.split(',');
    if (!brokers) {
      if (await portOpen(kafkaPort)) throw new Error(`port ${kafkaPort} is taken: stop what listens there or set KAFKA_BROKERS to use it`);
      log(`[platform] starting Apache Kafka (KRaft) on 127.0.0.1:${kafkaPort}, data in ${join(dataDir, 'kafka')}`);
      // Supervised like every service: a broker that dies is restarted (its log recovery included).
      const { command, args } = kafkaCommand({ dataDir: join(dataDir, 'kafka'), libsDir: join(repoRoot, '.data', 'kafka-libs'), port: kafkaPort });
      const broker = new SupervisedProcess({ instance: 'kafka', command, args, env: process.env, logsDir, runDir, echo: false });
      broker.start();
      stack.push(() => broker.stop());
      await waitForPort(kafkaPort, kafkaStartTimeoutMs);
      brokers = [`127.0.0.1:${kafkaPort}`];
    }
    const requestedUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    const postgres = await ensurePostgres({ url: requestedUrl ?? defaultDatabaseUrl, dataDir, runDir, embeddedPort: options.embeddedPostgresPort, log });
    stack.push(postgres.stop);
    // The admin URL stops here: each service and its migrations connect as the service's own role.
    // databaseEnv replaces baseEnv's admin DATABASE_URL in every child's env (undefined, so none,
    // for a service without a database: spawn drops undefined values).
    const adminUrl = await claimDatabase({ requestedUrl: postgres.url, explicit: requestedUrl !== undefined, platformId: secrets.platformId, dataDir, freshDataDir: secrets.fresh, log });
    log(`[platform] PostgreSQL: ${postgres.embedded ? 'embedded, ' : ''}${new URL(adminUrl).host}${new URL(adminUrl).pathname}`);
    const serviceDatabaseUrls = await bootstrapDatabaseRoles(adminUrl, loadOrCreateDatabasePasswords(dataDir, databaseNameOf(adminUrl)));
    const databaseEnv = (definition) => ({ DATABASE_URL: serviceDatabaseUrls[definition.name] });
    await provisionTopics(brokers);

    const port = (definition, index, basePort = definition.basePort) => basePort + portOffset + index * (definition.replicaPortStride ?? 1);
    // The vault serves its API over gRPC only (each replica on its own port); its HTTP port answers health and metrics.
    // Its callers get every replica's address (VAULT_GRPC_ADDRESS, a list): they balance over them and step off a dead one.
    const vault = serviceDefinitions.find((definition) => definition.name === 'tokenization');
    const vaultReplicas = Math.max(replicas, vault.replicasMin ?? 1); // as many as the loop below starts
    const vaultGrpcPorts = Array.from({ length: vaultReplicas }, (_, index) => port(vault, index, vault.grpcBasePort));
    const vaultGrpcAddress = vaultGrpcPorts.map((grpcPort) => `127.0.0.1:${grpcPort}`).join(',');
    const simulatorPort = port(serviceDefinitions.find((definition) => definition.name === 'psp-simulator'), 0);
    const baseEnv = {
      ...process.env,
      NODE_ENV: process.env.NODE_ENV ?? 'production',
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: adminUrl,
      VAULT_GRPC_ADDRESS: vaultGrpcAddress,
      STRIPE_BASE_URL: `http://127.0.0.1:${simulatorPort}`,
      ...(process.env.VAULT_KEK_FILE || process.env.VAULT_KEK_SHARES_DIR ? {} : { VAULT_KEK_FILE: ensureLocalKek(dataDir, log) }),
      INTAKE_REQUEST_HASH_SECRET: process.env.INTAKE_REQUEST_HASH_SECRET ?? secrets.intakeRequestHashSecret,
      VAULT_CALLERS: Object.entries(secrets.vaultCallers).map(([name, secret]) => `${name}:${secret}`).join(','),
      OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...options.extraEnv,
    };
    const vaultTlsEnv = (definition) => {
      const own = definition.name === 'tokenization' ? vaultTls.vault : vaultTls.callers[definition.name];
      if (!own) return {};
      // Callers dial 127.0.0.1 but expect the name `localhost` (in the vault's certificate): an IP is no valid TLS server name (SNI).
      const serverName = definition.name === 'tokenization' ? {} : { VAULT_GRPC_TLS_SERVER_NAME: 'localhost' };
      return { VAULT_GRPC_TLS_CA: vaultTls.ca, VAULT_GRPC_TLS_CERT: own.cert, VAULT_GRPC_TLS_KEY: own.key, ...serverName };
    };
    const seedMerchant = (merchantId, merchantApiKey) =>
      Promise.all(serviceDefinitions.filter((definition) => definition.migrates).map((definition) => runMigrations(definition, { ...baseEnv, ...databaseEnv(definition) }, merchantId, merchantApiKey)));
    await seedMerchant(devMerchantId, apiKey);
    log(`[platform] migrations applied; merchant ${devMerchantId} seeded`);

    const processes = [];
    for (const definition of serviceDefinitions) {
      const count = definition.replicated ? Math.max(replicas, definition.replicasMin ?? 1) : 1;
      for (let index = 0; index < count; index++) {
        const instance = count > 1 ? `${definition.name}-${index + 1}` : definition.name;
        const env = {
          ...baseEnv,
          ...databaseEnv(definition),
          PORT: String(port(definition, index)),
          DIRIGEN_INSTANCE: instance,
          ...(definition === vault ? { VAULT_GRPC_PORT: String(vaultGrpcPorts[index]) } : {}),
          ...(definition.name in secrets.vaultCallers ? { VAULT_CALLER_SECRET: secrets.vaultCallers[definition.name] } : {}),
          ...vaultTlsEnv(definition),
        };
        const supervised = new SupervisedProcess({ instance, command: process.execPath, args: nodeArgs(definition.entry), env, logsDir, runDir, echo: options.echo ?? true });
        supervised.start();
        processes.push({ definition, instance, port: port(definition, index), supervised });
      }
    }
    stack.push(() => Promise.all(processes.map((entry) => entry.supervised.stop())));
    await Promise.all(processes.map((entry) => waitHealthy(entry.port, entry.definition.name === 'psp-simulator' ? '/_sim/health' : '/health', healthTimeoutMs)));
    const intakeBackends = processes.filter((entry) => entry.definition.name === 'intake').map((entry) => entry.port);
    const balancer = await startLoadBalancer({ port: intakePort, backends: intakeBackends });
    stack.splice(stack.length - 1, 0, () => new Promise((done) => balancer.close(() => done())));
    return {
      apiUrl: `http://127.0.0.1:${intakePort}`,
      apiKey,
      merchantId: devMerchantId,
      simulatorUrl: `http://127.0.0.1:${simulatorPort}`,
      /** Every vault replica's gRPC address, `127.0.0.1:<port>,…` (as VAULT_GRPC_ADDRESS). */
      vaultGrpcAddress,
      /** The mutual TLS files: `ca`, `vault` and `callers.<name>` (`cert`, `key`). */
      vaultTls,
      processes,
      /** The admin URL (superuser in local mode); services use `serviceDatabaseUrls`. */
      databaseUrl: adminUrl,
      /** True when the platform runs its own PostgreSQL (supervised, pid in `run/postgres.pid`). */
      postgresEmbedded: postgres.embedded,
      /** True when the platform runs its own broker (supervised, pid in `run/kafka.pid`). */
      kafkaEmbedded: !process.env.KAFKA_BROKERS,
      serviceDatabaseUrls,
      brokers,
      dataDir,
      /** Registers another merchant with its secret key and every service's defaults. */
      seedMerchant,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
