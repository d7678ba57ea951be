// The bench's report: a table on stdout and the whole result as JSON under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './options.mjs';

/** Writes `bench/results/<mode>-<timestamp>.json`; returns its path. */
export function writeResult(result) {
  const directory = join(repoRoot, 'bench/results');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${result.mode}-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export function formatReport(result, file) {
  const { parameters: p } = result;
  const lines = [
    '',
    `Dirigen benchmark — ${result.mode === 'find-max' ? 'find the highest sustainable rate' : `open loop at ${p.ratePerSecond}/s for ${p.seconds} s`}; PSP latency ${p.pspLatencyMs} ms; request timeout ${p.requestTimeoutMs / 1000} s`,
    `  platform        ${result.platform.startedByBench ? `started by the bench (port offset ${result.platform.portOffset}, ${result.platform.replicas} replica(s) per consumer service)` : `already running at ${result.platform.apiUrl}`}; database ${result.platform.database ?? 'unknown'}`,
    `  machine         ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}`,
  ];
  if (result.idle) lines.push('', ...idleLines(result.idle));
  if (result.findMax) lines.push('', ...findMaxLines(result.findMax, p));
  if (result.load) lines.push('', ...loadLines(result.load, result.mode === 'find-max' ? `Load at half the highest good rate: ${result.load.offeredRatePerSecond}/s for ${p.seconds} s` : `Load: ${result.load.offeredRatePerSecond}/s offered for ${p.seconds} s`, p));
  if (result.load?.costs) lines.push('', ...costLines(result.load.costs, result.load.duringLoad));
  if (result.direct) lines.push('', ...directLines(result.direct, p));
  if (result.brokerCeiling) lines.push('', ...ceilingLines(result.brokerCeiling));
  if (result.vault) lines.push('', ...vaultLines(result.vault));
  if (Object.keys(result.unavailable).length > 0) {
    lines.push('', 'Not measured', ...Object.entries(result.unavailable).map(([name, why]) => `  ${name.padEnd(16)}${why}`));
  }
  lines.push('', `Written to ${file}`, '');
  return lines.join('\n');
}

function idleLines(idle) {
  return [
    `Idle: ${idle.payments} payments one after another, before any load (${idle.succeeded} succeeded${failureText(idle.failures, idle.processing)})`,
    `  end-to-end ms   ${percentiles(idle.endToEndMs, ['p50', 'p95'])}`,
    `  overhead ms     ${percentiles(idle.overheadMs, ['p50', 'p95'])}${unknownText(idle.overheadUnknown)}`,
  ];
}

function findMaxLines(findMax, p) {
  const header = `  ${'rate/s'.padStart(8)} ${'offered'.padStart(8)} ${'succeeded'.padStart(10)} ${'achieved/s'.padStart(11)} ${'sustained/s'.padStart(12)} ${'e2e p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}  verdict`;
  return [
    `Find max: steps of ${p.stepSeconds} s after ${p.stepWarmupSeconds} s of warm-up each; good = ≥ ${findMax.criteria.successSharePercent} % succeeded and sustained ≥ ${findMax.criteria.achievedSharePercent} % of offered (find-max.mjs says why not achieved)`,
    header,
    ...findMax.steps.map(({ ratePerSecond, good, summary }) =>
      `  ${String(ratePerSecond).padStart(8)} ${String(summary.offered).padStart(8)} ${`${percent(summary.successShare)} %`.padStart(10)} ${String(summary.achievedRatePerSecond).padStart(11)} ${String(summary.sustainedRatePerSecond ?? '–').padStart(12)} ${String(summary.endToEndMs.p50).padStart(8)} ${String(summary.endToEndMs.p99).padStart(8)} ${String(summary.endToEndMs.max).padStart(8)}  ${good ? 'good' : `bad${failureText(summary.failures, summary.processing.count)}`}`,
    ),
    `  highest good rate: ${findMax.highestGoodRate === undefined ? 'none (even the lowest rate tried was bad)' : `${findMax.highestGoodRate}/s`}; lowest bad rate: ${findMax.lowestBadRate === undefined ? `none found within ${findMax.steps.length} steps` : `${findMax.lowestBadRate}/s`}`,
  ];
}

function loadLines(load, title, p) {
  return [
    title,
    `  offered         ${load.offeredRatePerSecond}/s (${load.offered} payments; warm-up ${p.warmupSeconds} s before, not measured)`,
    `  achieved        ${load.achievedRatePerSecond}/s succeeded, over ${load.windowSeconds} s from the first scheduled request to the last answer`,
    `  sustained       ${load.sustainedRatePerSecond ?? 'unknown (too few answers)'}${load.sustainedRatePerSecond === undefined ? '' : '/s'} succeeded answers between the 10th and the 90th percentile answer (a steady latency cancels out)`,
    `  succeeded       ${load.succeeded} of ${load.offered} (${percent(load.successShare)} %)`,
    `  202 processing  ${load.processing.count}${load.processing.count > 0 ? ` (not yet succeeded when answered; latency ms ${percentiles(load.processing.latencyMs, ['p50', 'max'])})${settledText(load.processing.settledAfterDrain)}` : ''}`,
    `  failed          ${failureList(load.failures)}`,
    `  end-to-end ms   ${percentiles(load.endToEndMs, ['p50', 'p95', 'p99', 'max'])}   (succeeded payments, from each one's scheduled moment)`,
    `  overhead ms     ${percentiles(load.overheadMs, ['p50', 'p95', 'p99', 'max'])}   (end-to-end − attempts[0].psp_processing_ms)${unknownText(load.overheadUnknown)}`,
    `  send lag ms     ${percentiles(load.sendLagMs, ['p50', 'p99', 'max'])}   (how late the generator sent each request)`,
    `  drain           ${drainText(load.drainedBefore)} before the window, ${drainText(load.drainedAfter)} after it`,
  ];
}

function costLines(costs, duringLoad) {
  const roles = Object.entries(costs.cpuMsPerPayment).map(([role, ms]) => `${role}${(costs.processesByRole[role] ?? 1) > 1 ? ` ×${costs.processesByRole[role]}` : ''} ${ms}`);
  const lines = [
    `Per succeeded payment (${costs.payments} = ${costs.succeededAnswered201} answered 201 + ${costs.succeededAfter202} answered 202 that had succeeded once the platform drained; counters from the window's start to the drain, ${costs.seconds} s)`,
    `  CPU ms          ${costs.platformCpuMsPerPayment} for the platform (every role but the bench, the simulator and PostgreSQL's shared helpers):`,
    `                  ${roles.join(' | ')}`,
    `  CPU elsewhere   ${costs.otherCpuSecondsOnMachine} CPU s on the rest of the machine in the same time (not this platform)`,
    `  machine busy    ${percent(duringLoad.machineBusyShare)} % during the load, ${percent(costs.machineBusyShare)} % up to the drain (the whole machine, every process on it)`,
  ];
  if (costs.postgres) {
    const { postgres } = costs;
    lines.push(`  PostgreSQL      ${postgres.commitsPerPayment} commits${postgres.statementsPerPayment === undefined ? '' : `, ${postgres.statementsPerPayment} statements`}${postgres.statementEntriesEvicted > 0 ? ` (pg_stat_statements evicted ${postgres.statementEntriesEvicted} entries: statement counts are low)` : ''}`);
    if (postgres.topStatements) {
      lines.push('    top statements by calls (calls per payment, the role that ran it, query):');
      const roleWidth = Math.max(...postgres.topStatements.map((statement) => statement.role.length));
      for (const statement of postgres.topStatements) lines.push(`    ${String(statement.callsPerPayment).padStart(6)}  ${statement.role.padEnd(roleWidth)}  ${statement.query}`);
    }
  }
  if (costs.kafka) lines.push(`  Kafka           ${costs.kafka.producedPerPayment} messages produced, ${costs.kafka.fetchedPerPayment} delivered to consumer groups${duringLoad.kafkaMessagesPerSecond === undefined ? '' : ` (${duringLoad.kafkaMessagesPerSecond} messages/s both together during the load)`}`);
  if (costs.vault) lines.push(`  vault           ${costs.vault.callsPerPayment} calls${costs.vault.unreachable.length > 0 ? ` (metrics unreachable at ${costs.vault.unreachable.join(', ')})` : ''}`);
  return lines;
}

function directLines(direct, p) {
  return [
    `Direct to the simulator: open loop at ${direct.ratePerSecond}/s for ${p.directSeconds} s (${direct.succeeded} of ${direct.offered} answered 200${failureText(direct.failures)})`,
    `  latency ms      ${percentiles(direct.latencyMs, ['p50', 'p95', 'p99', 'max'])}`,
    `  simulator's own ${percentiles(direct.simulatorReportedMs, ['p50', 'p99'])}   (Server-Timing psp;dur)`,
  ];
}

function ceilingLines(ceiling) {
  if (ceiling.error) return [`Broker ceiling: not measured (${ceiling.error})`];
  return [
    `Broker ceiling: kafkajs as our services use it (idempotent, acks -1), ${ceiling.messages} messages of ${ceiling.messageBytes} B, ${ceiling.partitions} partitions, batches of 1,000`,
    `  produce         ${ceiling.produce.messagesPerSecond} messages/s    consume ${ceiling.consume.messagesPerSecond} messages/s (group join ${ceiling.consume.groupJoinSeconds} s, not counted)`,
    ceiling.loadShare === undefined
      ? '  load share      unknown (no Kafka counters during the load)'
      : `  load share      ${percent(ceiling.loadShare)} % = (messages produced + messages delivered to groups) per second during the load / produce ceiling`,
  ];
}

function vaultLines(vault) {
  if (vault.error) return [`Vault over gRPC: not measured (${vault.error})`];
  const line = (name, phase) =>
    `  ${name.padEnd(16)}${phase.callsPerSecond} calls/s  latency ms ${percentiles(phase.latencyMs, ['p50', 'p99'])}  (${phase.succeeded}/${phase.calls} ok${Object.keys(phase.failures).length ? `; ${JSON.stringify(phase.failures)}` : ''})`;
  return [
    `Vault over gRPC with mutual TLS (libs/vault-client → ${vault.address}), concurrency ${vault.concurrency}, VAULT_DETOKENIZE_LIMITS ${vault.detokenizeLimits}`,
    line('tokenize', vault.tokenize),
    line('detokenize', vault.detokenize),
  ];
}

function percentiles(summary, names) {
  if (!summary || summary.count === 0) return 'none';
  return names.map((name) => `${name} ${summary[name]}`).join('  ');
}

/** A share as a percentage with at most two decimals: 0.981 → "98.1". */
function percent(share) {
  return String(Number((share * 100).toFixed(2)));
}

function failureList(failures) {
  const entries = Object.entries(failures);
  return entries.length === 0 ? 'none' : entries.map(([label, count]) => `${count}× ${label}`).join(', ');
}

function failureText(failures, processing = 0) {
  const parts = [...(processing > 0 ? [`${processing}× 202 processing`] : []), ...Object.entries(failures).map(([label, count]) => `${count}× ${label}`)];
  return parts.length === 0 ? '' : `; ${parts.join(', ')}`;
}

function unknownText(count) {
  return count > 0 ? `; overhead unknown for ${count} (no psp_processing_ms)` : '';
}

function settledText(settled) {
  if (!settled) return '';
  return `; read back after the drain: ${Object.entries(settled.statuses).map(([status, count]) => `${count} ${status}`).join(', ')}`;
}

function drainText(drain) {
  if (!drain) return 'not waited';
  if (drain.drained === true) return `drained in ${drain.seconds} s`;
  if (drain.drained === false) return `NOT drained after ${drain.seconds} s (lag ${drain.lag})`;
  return drain.drained;
}
