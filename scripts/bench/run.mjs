// `npm run bench`: an open-loop benchmark of the running platform (or of one it starts on its own data
// dir and ports). Offers a fixed arrival rate and measures each payment from its scheduled moment;
// reports offered and achieved rate, success share, end-to-end latency and the overhead over the PSP's
// own processing time, per payment CPU, commits, statements, Kafka messages and vault calls, beside
// the simulator called directly and the broker's own ceiling. A bench reports, it does not judge:
// exit code 0 whenever the run completed, however slow; 1 when it could not run.
//
//   npm run bench -- [--rate 100] [--seconds 30] [--warmup-seconds 5] [--idle 20] [--direct-seconds 10]
//                    [--psp-latency 50] [--ceiling-messages 200000] [--vault-calls 0]
//   npm run bench -- --find-max [--rate 100 (the first step)] [--step-seconds 15] [--step-warmup-seconds 3] [--seconds 30]
//   where:           [--url …] [--data-dir .data] [--port-offset 0] [--replicas 1] [--database-url …]
//                    [--kafka-brokers …] [--vault-metrics url,url] [--key …]
import { cpus, totalmem } from 'node:os';
import { measureBrokerCeiling } from './broker-ceiling.mjs';
import { findMaxRate } from './find-max.mjs';
import { createLoadClient } from './load-client.mjs';
import { achievedShareMin, generatorSocketsMax, parseOptions, requestTimeoutMs, successShareMin } from './options.mjs';
import { round } from './outcomes.mjs';
import { reachOrStartPlatform } from './platform-access.mjs';
import { openPlatformCounters } from './platform-counters.mjs';
import { runDirect, runIdle, runLoadWindow } from './phases.mjs';
import { formatReport, writeResult } from './report.mjs';
import { runVaultPhase } from './vault-phase.mjs';

function say(line) {
  process.stdout.write(`[bench] ${line}\n`);
}

async function setSimulatorLatency(simulatorUrl, latencyMs) {
  const response = await fetch(`${simulatorUrl}/_sim/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ latency_ms: latencyMs, error_rate: 0, timeout_rate: 0, outage: false }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`simulator control refused: ${response.status}`);
}

async function main() {
  const options = parseOptions();
  const platform = await reachOrStartPlatform(options, say);
  const client = createLoadClient({ socketsMax: generatorSocketsMax, timeoutMs: requestTimeoutMs });
  let counters;
  try {
    if (!platform.apiKey) throw new Error('no API key: pass --key, set DIRIGEN_DEV_API_KEY, or point --data-dir at the platform\'s data dir');
    await setSimulatorLatency(platform.simulatorUrl, options.pspLatencyMs);
    counters = await openPlatformCounters(platform);
    const result = describeRun(options, platform, counters);
    const base = { client, platform, counters };
    if (options.idlePayments > 0) {
      say(`idle: ${options.idlePayments} payments one after another…`);
      result.idle = await runIdle({ ...base, count: options.idlePayments });
    }
    let loadRate = options.ratePerSecond;
    if (options.findMax) {
      result.findMax = await searchMaxRate(base, options);
      loadRate = result.findMax.highestGoodRate === undefined ? undefined : round(result.findMax.highestGoodRate / 2, 1);
    }
    if (loadRate !== undefined) {
      say(`load: ${loadRate}/s for ${options.seconds} s after ${options.warmupSeconds} s of warm-up…`);
      result.load = await runLoadWindow({ ...base, ratePerSecond: loadRate, warmupSeconds: options.warmupSeconds, seconds: options.seconds });
      if (options.directSeconds > 0) {
        say(`the simulator directly: ${loadRate}/s for ${options.directSeconds} s…`);
        result.direct = await runDirect({ ...base, ratePerSecond: loadRate, seconds: options.directSeconds });
      }
    }
    if (options.ceilingMessages > 0) result.brokerCeiling = await brokerCeiling(platform, options, result.load);
    if (options.vaultCalls > 0) result.vault = await vaultAlone(platform, options);
    const file = writeResult(result);
    process.stdout.write(formatReport(result, file));
  } finally {
    client.close();
    await counters?.close();
    await setSimulatorLatency(platform.simulatorUrl, 0).catch(() => {});
    await platform.stop();
  }
}

/** What was run, where and how: the head of the result. */
function describeRun(options, platform, counters) {
  return {
    at: new Date().toISOString(),
    mode: options.findMax ? 'find-max' : 'rate',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    parameters: {
      ratePerSecond: options.ratePerSecond, seconds: options.seconds, warmupSeconds: options.warmupSeconds, directSeconds: options.directSeconds,
      idlePayments: options.idlePayments, pspLatencyMs: options.pspLatencyMs, requestTimeoutMs, generatorSocketsMax,
      ...(options.findMax ? { stepSeconds: options.stepSeconds, stepWarmupSeconds: options.stepWarmupSeconds } : {}),
    },
    platform: {
      startedByBench: platform.startedByBench, apiUrl: platform.apiUrl, dataDir: platform.dataDir, portOffset: options.portOffset, replicas: options.replicas,
      database: platform.databaseUrl && new URL(platform.databaseUrl).pathname.slice(1), brokers: platform.brokers,
    },
    unavailable: counters.unavailable,
  };
}

async function searchMaxRate(base, options) {
  const search = await findMaxRate({
    startRate: options.ratePerSecond,
    measureStep: async (ratePerSecond) => {
      say(`find-max: ${ratePerSecond}/s for ${options.stepSeconds} s (after ${options.stepWarmupSeconds} s of warm-up)…`);
      const step = await runLoadWindow({ ...base, measureCosts: false, ratePerSecond, warmupSeconds: options.stepWarmupSeconds, seconds: options.stepSeconds });
      say(`  ${step.succeeded}/${step.offered} succeeded, achieved ${step.achievedRatePerSecond}/s, sustained ${step.sustainedRatePerSecond}/s, end-to-end p50 ${step.endToEndMs.p50} ms p99 ${step.endToEndMs.p99} ms`);
      return step;
    },
  });
  return { ...search, criteria: { successSharePercent: successShareMin * 100, achievedSharePercent: achievedShareMin * 100 } };
}

/** The broker's ceiling, and which share of it the load window used (produced + delivered messages per second). */
async function brokerCeiling(platform, options, load) {
  say(`the broker's ceiling: ${options.ceilingMessages} messages produced, then consumed…`);
  const ceiling = await measureBrokerCeiling({ brokers: platform.brokers, messages: options.ceilingMessages, log: say }).catch((error) => ({ error: error.message }));
  const used = load?.duringLoad?.kafkaMessagesPerSecond;
  return ceiling.error || used === undefined ? ceiling : { ...ceiling, loadShare: round(used / ceiling.produce.messagesPerSecond, 5) };
}

async function vaultAlone(platform, options) {
  const limits = platform.startedByBench ? options.vaultDetokenizeLimits : 'as configured by the running platform';
  say(`the vault over gRPC: ${options.vaultCalls} tokenize then ${options.vaultCalls} detokenize calls at concurrency ${options.vaultConcurrency}…`);
  const measured = await runVaultPhase({ address: platform.vaultGrpcAddress, dataDir: platform.dataDir, merchantId: platform.merchantId, calls: options.vaultCalls, concurrency: options.vaultConcurrency }).catch(
    (error) => ({ error: error.message }),
  );
  return { address: platform.vaultGrpcAddress, calls: options.vaultCalls, concurrency: options.vaultConcurrency, detokenizeLimits: limits, ...measured };
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`[bench] could not run: ${error.stack ?? error}`);
    process.exit(1);
  },
);
