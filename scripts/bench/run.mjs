// `npm run bench`: drives the running platform (or starts one) with N card payments at concurrency C
// against the PSP simulator at a fixed latency L, then calls the simulator directly the same way.
// Prints throughput, end-to-end latency percentiles and the orchestration overhead; then measures the vault's
// gRPC API alone (tokenize, detokenize, over mutual TLS) through libs/vault-client. Writes JSON to bench/results/.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { vaultTlsPaths } from '../platform/vault-tls.mjs';

const repoRoot = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    payments: { type: 'string', default: process.env.BENCH_PAYMENTS ?? '3000' },
    concurrency: { type: 'string', default: process.env.BENCH_CONCURRENCY ?? '64' },
    'psp-latency': { type: 'string', default: process.env.BENCH_PSP_LATENCY_MS ?? '50' },
    warmup: { type: 'string', default: '300' },
    url: { type: 'string', default: process.env.DIRIGEN_API_URL ?? 'http://127.0.0.1:8080' },
    simulator: { type: 'string', default: process.env.DIRIGEN_SIMULATOR_URL ?? 'http://127.0.0.1:8090' },
    key: { type: 'string', default: process.env.DIRIGEN_DEV_API_KEY },
    replicas: { type: 'string', default: process.env.DIRIGEN_REPLICAS ?? '1' },
    'vault-calls': { type: 'string', default: process.env.BENCH_VAULT_CALLS ?? '5000' },
    'vault-concurrency': { type: 'string', default: process.env.BENCH_VAULT_CONCURRENCY ?? '32' },
    'vault-address': { type: 'string', default: process.env.VAULT_GRPC_ADDRESS ?? '127.0.0.1:8083' },
    // Detokenize is rate-limited per caller (2000/s, burst 4000 by default): lifted for the platform this bench starts, so the phase measures the vault, not the limiter.
    'vault-detokenize-limits': { type: 'string', default: process.env.BENCH_VAULT_DETOKENIZE_LIMITS ?? 'gateway:1000000/1000000' },
  },
});
const payments = Number(args.payments);
const concurrency = Number(args.concurrency);
const pspLatencyMs = Number(args['psp-latency']);
const warmup = Number(args.warmup);
const requestTimeoutMs = 30_000;
const vaultCalls = Number(args['vault-calls']);
const vaultConcurrency = Number(args['vault-concurrency']);
const vaultCallTimeoutMs = 10_000;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value) => Math.round(value * 10) / 10;
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) };
}

/** Runs `task(i)` for i < count with at most `limit` in flight; returns wall time in ms. */
async function pool(count, limit, task) {
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await task(next++);
  }));
  return performance.now() - startedAt;
}

async function reachable(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status < 500;
  } catch {
    return false;
  }
}

async function setSimulatorLatency(simulatorUrl, latencyMs) {
  const response = await fetch(`${simulatorUrl}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency_ms: latencyMs, error_rate: 0, timeout_rate: 0, outage: false }) });
  if (!response.ok) throw new Error(`simulator control refused: ${response.status}`);
}

const cardBody = (amount) => JSON.stringify({ amount, currency: 'USD', payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' } } });

async function runPayments(apiUrl, apiKey, count) {
  const endToEndMs = [];
  const overheadMs = [];
  const statuses = {};
  const wallMs = await pool(count, concurrency, async (index) => {
    const startedAt = performance.now();
    try {
      const response = await fetch(`${apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: cardBody(1000 + (index % 1000)),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const payment = await response.json();
      const elapsed = performance.now() - startedAt;
      const status = `${response.status} ${payment.status ?? payment.error?.code}`;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (payment.status === 'succeeded') {
        endToEndMs.push(elapsed);
        overheadMs.push(elapsed - (payment.attempts?.[0]?.latency_ms ?? 0));
      }
    } catch (error) {
      statuses[`error ${error.name}`] = (statuses[`error ${error.name}`] ?? 0) + 1;
    }
  });
  return { wallMs, endToEndMs, overheadMs, statuses };
}

async function runDirect(simulatorUrl, count) {
  const latencies = [];
  let failures = 0;
  const wallMs = await pool(count, concurrency, async (index) => {
    const startedAt = performance.now();
    const form = new URLSearchParams({
      amount: String(1000 + (index % 1000)), currency: 'usd', confirm: 'true', capture_method: 'automatic',
      'payment_method_data[type]': 'card', 'payment_method_data[card][number]': '4242424242424242',
      'payment_method_data[card][exp_month]': '12', 'payment_method_data[card][exp_year]': '2030', 'payment_method_data[card][cvc]': '123',
    });
    const response = await fetch(`${simulatorUrl}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_bench', 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': randomUUID() },
      body: form,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    await response.arrayBuffer();
    if (response.ok) latencies.push(performance.now() - startedAt);
    else failures++;
  });
  return { wallMs, latencies, failures };
}

/** The vault's gRPC API through the shared client, from the compiled build (dist/), as the services use it. */
function loadVaultClient() {
  const require = createRequire(import.meta.url);
  require(join(repoRoot, 'scripts/platform/register-paths.cjs'));
  return require(join(repoRoot, 'dist/libs/vault-client/src/index.js'));
}

/** Tokenizes `vaultCalls` cards, then detokenizes as many times, each at `vaultConcurrency` calls in flight. */
async function runVault({ address, dataDir, merchantId }) {
  const { VaultClient, vaultClientTransport } = loadVaultClient();
  const { vaultCallers } = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
  // Over mutual TLS like the services: each caller's certificate from local mode's set, the name `localhost` expected of the vault.
  const tls = vaultTlsPaths(join(dataDir, 'vault', 'tls'));
  const transport = (caller) =>
    vaultClientTransport({ kind: 'mutual', caFile: tls.ca, certFile: tls.callers[caller].cert, keyFile: tls.callers[caller].key, serverName: 'localhost' });
  const client = (caller) => new VaultClient({ address, caller, callerSecret: vaultCallers[caller], timeoutMs: vaultCallTimeoutMs, ...transport(caller) });
  const intake = client('intake');
  const gateway = client('gateway');
  const measure = async (task) => {
    const latencies = [];
    const failures = {};
    const wallMs = await pool(vaultCalls, vaultConcurrency, async (index) => {
      const startedAt = performance.now();
      try {
        await task(index);
        latencies.push(performance.now() - startedAt);
      } catch (error) {
        failures[error.code ?? error.name] = (failures[error.code ?? error.name] ?? 0) + 1;
      }
    });
    return { calls: vaultCalls, succeeded: latencies.length, failures, callsPerSecond: Math.round((latencies.length / wallMs) * 1000 * 10) / 10, latencyMs: summarize(latencies) };
  };
  try {
    const tokens = [];
    const card = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };
    const tokenize = await measure(async (index) => {
      tokens[index] = (await intake.tokenize(merchantId, card, 'payment')).token;
    });
    const saved = tokens.filter(Boolean);
    if (saved.length === 0) throw new Error(`no card was tokenized: ${JSON.stringify(tokenize.failures)}`);
    const detokenize = await measure(async (index) => {
      const result = await gateway.detokenize({ merchantId, token: saved[index % saved.length], paymentId: `pay_bench_${index}`, purpose: 'bench' });
      if (!result.ok) throw Object.assign(new Error(result.message), { code: result.code });
    });
    return { tokenize, detokenize };
  } finally {
    intake.close();
    gateway.close();
  }
}

async function main() {
  let platform;
  let apiUrl = args.url;
  let simulatorUrl = args.simulator;
  let apiKey = args.key ?? (existsSync(join(repoRoot, '.data/secrets.json')) ? JSON.parse(readFileSync(join(repoRoot, '.data/secrets.json'), 'utf8')).devApiKey : undefined);
  if (!(await reachable(`${apiUrl}/health`))) {
    console.log(`[bench] nothing answers at ${apiUrl}; starting the platform (${args.replicas} replica(s) per consumer service)…`);
    const { buildProject, startPlatform } = await import(join(repoRoot, 'scripts/platform/platform.mjs'));
    buildProject();
    platform = await startPlatform({ replicas: Number(args.replicas), echo: false, log: () => {}, extraEnv: { VAULT_DETOKENIZE_LIMITS: args['vault-detokenize-limits'] } });
    ({ apiUrl, apiKey, simulatorUrl } = platform);
  }
  const vaultAddress = platform?.vaultGrpcAddress ?? args['vault-address'];
  const detokenizeLimits = platform ? args['vault-detokenize-limits'] : 'as configured by the running platform';
  if (!apiKey) throw new Error('no API key: set DIRIGEN_DEV_API_KEY or pass --key');
  try {
    await setSimulatorLatency(simulatorUrl, pspLatencyMs);
    console.log(`[bench] warming up with ${warmup} payments…`);
    await runPayments(apiUrl, apiKey, warmup);
    console.log(`[bench] ${payments} payments at concurrency ${concurrency}, PSP latency ${pspLatencyMs} ms…`);
    const orchestrated = await runPayments(apiUrl, apiKey, payments);
    console.log(`[bench] the same against the simulator directly…`);
    const direct = await runDirect(simulatorUrl, payments);
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      parameters: { payments, concurrency, pspLatencyMs, warmup },
      orchestrated: {
        succeeded: orchestrated.endToEndMs.length,
        statuses: orchestrated.statuses,
        paymentsPerSecond: Math.round((orchestrated.endToEndMs.length / orchestrated.wallMs) * 1000 * 10) / 10,
        endToEndMs: summarize(orchestrated.endToEndMs),
        overheadMs: summarize(orchestrated.overheadMs),
      },
      direct: {
        succeeded: direct.latencies.length,
        failures: direct.failures,
        requestsPerSecond: Math.round((direct.latencies.length / direct.wallMs) * 1000 * 10) / 10,
        latencyMs: summarize(direct.latencies),
      },
    };
    result.ratio = { throughputOrchestratedToDirect: Math.round((result.orchestrated.paymentsPerSecond / result.direct.requestsPerSecond) * 1000) / 1000 };
    if (vaultCalls > 0) {
      if (!existsSync(join(repoRoot, 'dist/libs/vault-client/src/index.js'))) (await import(join(repoRoot, 'scripts/platform/platform.mjs'))).buildProject();
      console.log(`[bench] the vault over gRPC: ${vaultCalls} tokenize then ${vaultCalls} detokenize calls at concurrency ${vaultConcurrency} (VAULT_DETOKENIZE_LIMITS ${detokenizeLimits})…`);
      const measured = await runVault({ address: vaultAddress, dataDir: platform?.dataDir ?? join(repoRoot, '.data'), merchantId: platform?.merchantId ?? 'mer_dev' });
      result.vault = { address: vaultAddress, calls: vaultCalls, concurrency: vaultConcurrency, detokenizeLimits, ...measured };
    }
    mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
    const file = join(repoRoot, 'bench/results', `payments-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    const o = result.orchestrated;
    const d = result.direct;
    console.log(`
Dirigen benchmark — ${payments} card payments, concurrency ${concurrency}, PSP latency ${pspLatencyMs} ms
  orchestrated: ${o.paymentsPerSecond} payments/s sustained (${o.succeeded} succeeded; ${JSON.stringify(o.statuses)})
                end-to-end ms  p50 ${o.endToEndMs.p50}  p95 ${o.endToEndMs.p95}  p99 ${o.endToEndMs.p99}  max ${o.endToEndMs.max}
                overhead ms    p50 ${o.overheadMs.p50}  p95 ${o.overheadMs.p95}  p99 ${o.overheadMs.p99}   (end-to-end minus PSP time)
  direct:       ${d.requestsPerSecond} requests/s against the simulator
                latency ms     p50 ${d.latencyMs.p50}  p95 ${d.latencyMs.p95}  p99 ${d.latencyMs.p99}
  ratio:        orchestrated/direct throughput ${result.ratio.throughputOrchestratedToDirect}${result.vault ? vaultSummary(result.vault) : ''}
  written to    ${file}`);
  } finally {
    await setSimulatorLatency(simulatorUrl, 0).catch(() => {});
    await platform?.stop();
  }
}

function vaultSummary(vault) {
  const line = (name, phase) =>
    `  ${name.padEnd(14)}${phase.callsPerSecond} calls/s  latency ms  p50 ${phase.latencyMs.p50}  p99 ${phase.latencyMs.p99}  (${phase.succeeded}/${phase.calls} ok${Object.keys(phase.failures).length ? `; ${JSON.stringify(phase.failures)}` : ''})`;
  return `
Vault over gRPC with mutual TLS (libs/vault-client → ${vault.address}), concurrency ${vault.concurrency}, VAULT_DETOKENIZE_LIMITS ${vault.detokenizeLimits}
${line('tokenize:', vault.tokenize)}
${line('detokenize:', vault.detokenize)}`;
}

main().then(() => process.exit(0), (error) => {
  console.error(`[bench] failed: ${error.stack ?? error}`);
  process.exit(1);
});
