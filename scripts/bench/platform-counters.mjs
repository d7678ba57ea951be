// Every counter the bench reads off the platform at one moment (CPU per process, PostgreSQL, Kafka,
// the vault), and what two such moments say per succeeded payment. A source that cannot be read is
// reported as unavailable, with why; the run goes on without it.
import { join } from 'node:path';
import { kafkaBetween, openKafkaCounters } from './kafka-counters.mjs';
import { benchRole, platformScope, postgresSharedRole, snapshot as processSnapshot, usageBetween } from './process-usage.mjs';
import { openPostgresCounters, postgresBetween } from './postgres-counters.mjs';
import { vaultCallsTotal } from './vault-metrics.mjs';

export async function openPlatformCounters(platform) {
  const unavailable = {};
  const open = async (name, opener) => {
    try {
      return await opener();
    } catch (error) {
      unavailable[name] = error.message;
      return undefined;
    }
  };
  const postgres = platform.databaseUrl ? await open('postgres', () => openPostgresCounters(platform.databaseUrl)) : undefined;
  if (!platform.databaseUrl) unavailable.postgres = 'the platform\'s database is unknown';
  if (postgres && !postgres.statementsAvailable) unavailable.statements = `pg_stat_statements: ${postgres.statementsUnavailableReason}`;
  const kafka = await open('kafka', () => openKafkaCounters(platform.brokers));
  const scope = platformScope({ runDir: join(platform.dataDir, 'run'), databaseName: postgres?.databaseName ?? (platform.databaseUrl && new URL(platform.databaseUrl).pathname.slice(1)) });

  const read = async (name, reader) => {
    if (!reader) return undefined;
    try {
      return await reader();
    } catch (error) {
      unavailable[name] = error.message;
      return undefined;
    }
  };
  return {
    unavailable,
    /** All counters now. */
    take: async () => ({
      processes: processSnapshot(scope),
      postgres: await read('postgres', postgres?.snapshot),
      kafka: await read('kafka', kafka?.snapshot),
      vault: await read('vault', () => vaultCallsTotal(platform.vaultMetricsUrls)),
    }),
    /** Messages the platform's active consumer groups have yet to commit; undefined when Kafka cannot be read. */
    kafkaLag: () => read('kafka', kafka?.lag),
    close: async () => {
      await postgres?.close().catch(() => {});
      await kafka?.close().catch(() => {});
    },
  };
}

/** Per succeeded payment between two moments: CPU ms per role, commits, statements, Kafka messages, vault calls. */
export function costsBetween(before, after, payments) {
  const perPayment = (count, decimals = 2) => (payments > 0 ? Math.round((count / payments) * 10 ** decimals) / 10 ** decimals : null);
  const usage = usageBetween(before.processes, after.processes);
  const cpuMsPerPayment = Object.fromEntries(
    Object.entries(usage.cpuSecondsByRole)
      .sort(([, a], [, b]) => b - a)
      .map(([role, seconds]) => [role, perPayment(seconds * 1000, 1)]),
  );
  const countedCpuSeconds = Object.values(usage.cpuSecondsByRole).reduce((sum, seconds) => sum + seconds, 0);
  const notThePlatform = new Set([benchRole, 'psp-simulator', postgresSharedRole]);
  const platformCpuSeconds = Object.entries(usage.cpuSecondsByRole).reduce((sum, [role, seconds]) => (notThePlatform.has(role) ? sum : sum + seconds), 0);
  const vault = before.vault && after.vault ? { calls: after.vault.calls - before.vault.calls, unreachable: after.vault.unreachable } : undefined;
  return {
    seconds: Math.round(usage.seconds * 100) / 100,
    payments,
    cpuMsPerPayment,
    processesByRole: usage.processesByRole,
    platformCpuMsPerPayment: perPayment(platformCpuSeconds * 1000, 1),
    cpuSecondsCounted: Math.round(countedCpuSeconds * 100) / 100,
    // Everything else the machine did meanwhile (another platform, editors, the kernel): busy CPU not in any role above.
    otherCpuSecondsOnMachine: Math.round((usage.machineBusyCpuSeconds - countedCpuSeconds) * 100) / 100,
    machineBusyShare: usage.machineBusyShare,
    postgres: before.postgres && after.postgres ? postgresBetween(before.postgres, after.postgres, payments) : undefined,
    kafka: before.kafka && after.kafka ? kafkaBetween(before.kafka, after.kafka, payments) : undefined,
    vault: vault && { ...vault, callsPerPayment: perPayment(vault.calls) },
  };
}
