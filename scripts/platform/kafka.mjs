// Single-node Apache Kafka broker in KRaft mode, from jars Maven fetches from Maven Central.
// Used by `npm start` (data under .data/kafka) and by `npm test` (data under .data/test/kafka).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitForPort } from './ports.mjs';

const repoRoot = resolve(import.meta.dirname, '../..');
const pomPath = join(repoRoot, 'deploy/kafka/pom.xml');
const log4jConfigPath = join(repoRoot, 'deploy/kafka/log4j2.properties');
const brokerStartTimeoutMs = 90_000;

/** Fetches the broker's jars into `libsDir` once per version of the pom (shared by every data dir). */
export function ensureKafkaJars(libsDir) {
  const pom = readFileSync(pomPath, 'utf8');
  const version = pom.match(/<kafka.version>([^<]+)</)[1];
  const marker = join(libsDir, `.pom-${createHash('sha256').update(pom).digest('hex').slice(0, 16)}`);
  if (existsSync(marker)) return libsDir;
  rmSync(libsDir, { recursive: true, force: true });
  console.log(`[platform] fetching Apache Kafka ${version} jars with Maven (first run only)…`);
  const result = spawnSync(
    'mvn',
    ['-q', '-B', '-f', pomPath, 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error('mvn dependency:copy-dependencies failed: is Maven installed and Maven Central reachable?');
  writeFileSync(marker, new Date().toISOString());
  return libsDir;
}

function brokerProperties({ dataDir, port, controllerPort }) {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dataDir, 'logs')}`,
    // Topics are provisioned explicitly with declared partition counts (libs/messaging).
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    'log.segment.bytes=134217728',
  ].join('\n') + '\n';
}

/**
 * Prepares the broker's data dir (storage formatted once per data dir; later starts reuse it, so
 * topics and offsets persist) and returns the command that runs it: `{ command, args }`.
 */
export function kafkaCommand({ dataDir, libsDir, port = 9092, controllerPort = port + 1 }) {
  ensureKafkaJars(libsDir);
  mkdirSync(dataDir, { recursive: true });
  const propertiesPath = join(dataDir, 'server.properties');
  writeFileSync(propertiesPath, brokerProperties({ dataDir, port, controllerPort }));
  const classpath = `${libsDir}/*`;
  const javaOptions = [
    '-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jConfigPath}`,
  ];
  if (!existsSync(join(dataDir, 'logs', 'meta.properties'))) {
    // Kafka's own ids never start with '-' (one in 64 base64url ids would, and read as an option).
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    const format = spawnSync(
      'java',
      [...javaOptions, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesPath],
      { encoding: 'utf8' },
    );
    if (format.status !== 0) throw new Error(`kafka storage format failed:\n${format.stdout}\n${format.stderr}`);
  }
  return { command: 'java', args: [...javaOptions, '-cp', classpath, 'kafka.Kafka', propertiesPath] };
}

/** How long a broker may take to accept connections, log recovery after a kill included. */
export const kafkaStartTimeoutMs = brokerStartTimeoutMs;

/** Starts the broker (unsupervised: the test runner's) and resolves once it accepts connections on `port`. */
export async function startKafka({ dataDir, libsDir, port = 9092, controllerPort = port + 1, logStream }) {
  const { command, args } = kafkaCommand({ dataDir, libsDir, port, controllerPort });
  const broker = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [broker.stdout, broker.stderr]) {
    stream.on('data', (chunk) => logStream?.write(chunk));
  }
  const exited = new Promise((_, reject) =>
    broker.once('exit', (code) => reject(new Error(`kafka broker exited with code ${code} during start`))),
  );
  await Promise.race([waitForPort(port, brokerStartTimeoutMs), exited]);
  exited.catch(() => {});
  return broker;
}
