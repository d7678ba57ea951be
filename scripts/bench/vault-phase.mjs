// The vault's gRPC API alone (tokenize, then detokenize, over mutual TLS) through libs/vault-client,
// at a fixed number of calls in flight: calls per second and latency.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vaultTlsPaths } from '../platform/vault-tls.mjs';
import { requireCompiledLib } from './compiled-libs.mjs';
import { summarize } from './outcomes.mjs';

const vaultCallTimeoutMs = 10_000;

/** Tokenizes `calls` cards, then detokenizes as many times, each with `concurrency` calls in flight. */
export async function runVaultPhase({ address, dataDir, merchantId, calls, concurrency }) {
  const { VaultClient, vaultClientTransport } = await requireCompiledLib('vault-client');
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
    const wallMs = await pool(calls, concurrency, async (index) => {
      const startedAt = performance.now();
      try {
        await task(index);
        latencies.push(performance.now() - startedAt);
      } catch (error) {
        failures[error.code ?? error.name] = (failures[error.code ?? error.name] ?? 0) + 1;
      }
    });
    return { calls, succeeded: latencies.length, failures, callsPerSecond: Math.round((latencies.length / wallMs) * 1000 * 10) / 10, latencyMs: summarize(latencies) };
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

/** Runs `task(i)` for i < count with at most `limit` in flight; returns wall time in ms. */
async function pool(count, limit, task) {
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await task(next++);
  }));
  return performance.now() - startedAt;
}
