import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { recordPostgresLogBaseline } from './scan-sources';
import { startTraceCollector } from './trace-collector';

export interface PlatformUnderTest {
  apiUrl: string;
  apiKey: string;
  merchantId: string;
  simulatorUrl: string;
  /** The vault's gRPC API, `host:port`. */
  vaultGrpcAddress: string;
  /** Local mode's mutual TLS files (the CA, and each caller's certificate and key). */
  vaultTls: { ca: string; callers: Record<string, { cert: string; key: string }> };
  collectorUrl: string;
  databaseUrl: string;
  brokers: string[];
  dataDir: string;
  processes: { instance: string; name: string; port: number }[];
  otherMerchant: { id: string; apiKey: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    platform: PlatformUnderTest;
  }
}

// Vitest runs from the repository root (npm test).
const repoRoot = resolve(process.cwd());
const collectorPort = 14318;
/** In the data dir: the fault drill the services look for (libs/service-kit/src/fault-drill.ts). */
export const faultDrillFileName = 'fault-drill.json';

/** Starts the whole platform once for the e2e suite, as `npm start` would, with two replicas of every consumer service. */
export default async function setup(project: TestProject) {
  const dataDir = join(repoRoot, '.data/test/e2e');
  // The last run's data goes; this run's stays after the suite, for the card-data scan (`npm test` runs it next).
  rmSync(dataDir, { recursive: true, force: true });
  if (process.env.DATABASE_URL) await recordPostgresLogBaseline(dataDir, process.env.DATABASE_URL);
  // Besides local mode's KEK file, the vault reads custodian shares from here (the rotation test adds a version).
  const kekSharesDir = join(dataDir, 'vault/kek-shares');
  mkdirSync(kekSharesDir, { recursive: true });
  const collector = await startTraceCollector(collectorPort, dataDir);
  const { startPlatform } = await import(join(repoRoot, 'scripts/platform/platform.mjs'));
  const platform = await startPlatform({
    dataDir,
    intakePort: 18080,
    portOffset: 10_000,
    replicas: 2,
    databaseUrl: process.env.DATABASE_URL,
    echo: false,
    log: () => {},
    extraEnv: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'info',
      VAULT_KEK_SHARES_DIR: kekSharesDir,
      // Low enough that the vault suite can prove the limit with a few hundred calls; far above the suite's payment rate.
      VAULT_DETOKENIZE_LIMITS: 'gateway:100/200',
      // Off until a test writes the file (crash-recovery.e2e: a stage killed right after producing).
      DIRIGEN_FAULT_DRILL_FILE: join(dataDir, faultDrillFileName),
    },
  });
  // No clock digits in test data: a 13-digit time is Luhn-valid one time in ten, and the scan reads everything.
  const otherMerchant = { id: 'mer_other', apiKey: `sk_test_other_${randomUUID()}` };
  await platform.seedMerchant(otherMerchant.id, otherMerchant.apiKey);
  project.provide('platform', {
    apiUrl: platform.apiUrl,
    apiKey: platform.apiKey,
    merchantId: platform.merchantId,
    simulatorUrl: platform.simulatorUrl,
    vaultGrpcAddress: platform.vaultGrpcAddress,
    vaultTls: { ca: platform.vaultTls.ca, callers: platform.vaultTls.callers },
    collectorUrl: `http://127.0.0.1:${collectorPort}`,
    databaseUrl: platform.databaseUrl,
    brokers: platform.brokers,
    dataDir: platform.dataDir,
    processes: platform.processes.map((entry: { instance: string; definition: { name: string }; port: number }) => ({ instance: entry.instance, name: entry.definition.name, port: entry.port })),
    otherMerchant,
  });
  return async () => {
    await platform.stop();
    await new Promise((done) => collector.close(done));
  };
}
