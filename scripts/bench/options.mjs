// The bench's command line and the named limits every phase runs under.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** One request may take this long (the balancer's queue, intake's wait for the outcome, the answer) before it counts as failed. */
export const requestTimeoutMs = 10_000;
/** Sockets the load generator keeps to one origin; requests beyond it wait in the agent (and that wait is latency). */
export const generatorSocketsMax = 2_000;
/** A rate step is good when at least this share of its payments succeeded… */
export const successShareMin = 0.999;
/** …and succeeded payments per second reached this share of the offered rate. */
export const achievedShareMin = 0.98;
/** `--find-max`: each step offers this many times the last good rate… */
export const rateGrowthFactor = 1.5;
/** …at most this many times before it gives up finding a bad rate… */
export const stepsUpMax = 20;
/** …then halves the interval between the last good and the first bad rate this many times. */
export const bisectionSteps = 3;
/** Between phases: after the last answer, the platform's consumers must have caught up, then stay quiet this long. */
export const drainQuietMs = 2_000;
/** A platform that has not drained by then is measured anyway; the report says it had not. */
export const drainTimeoutMs = 60_000;
/** Payments sent one after another, unmeasured, before the idle phase: they open the connections and warm the code paths. */
export const idleWarmupPayments = 5;
/** A rate below this cannot be offered meaningfully in a window of seconds. */
export const rateMin = 0.1;

/** Every option, parsed and checked; the default URLs and ports follow `--port-offset` as the platform's do. */
export function parseOptions(args = process.argv.slice(2)) {
  const { values } = parseArgs({
    args,
    options: {
      rate: { type: 'string', default: process.env.BENCH_RATE ?? '100' },
      seconds: { type: 'string', default: '30' },
      'warmup-seconds': { type: 'string', default: '5' },
      'direct-seconds': { type: 'string', default: '10' },
      idle: { type: 'string', default: '20' },
      'find-max': { type: 'boolean', default: false },
      'step-seconds': { type: 'string', default: '15' },
      'step-warmup-seconds': { type: 'string', default: '3' },
      'psp-latency': { type: 'string', default: process.env.BENCH_PSP_LATENCY_MS ?? '50' },
      url: { type: 'string' },
      simulator: { type: 'string' },
      key: { type: 'string', default: process.env.DIRIGEN_DEV_API_KEY },
      'data-dir': { type: 'string', default: join(repoRoot, '.data') },
      'port-offset': { type: 'string', default: '0' },
      replicas: { type: 'string', default: process.env.DIRIGEN_REPLICAS ?? '1' },
      'database-url': { type: 'string' },
      'kafka-brokers': { type: 'string' },
      'vault-metrics': { type: 'string' },
      'ceiling-messages': { type: 'string', default: '200000' },
      'vault-calls': { type: 'string', default: process.env.BENCH_VAULT_CALLS ?? '0' },
      'vault-concurrency': { type: 'string', default: process.env.BENCH_VAULT_CONCURRENCY ?? '32' },
      'vault-address': { type: 'string' },
      // Detokenize is rate-limited per caller (2000/s, burst 4000 by default): lifted for the platform this bench starts, so the vault phase measures the vault, not the limiter.
      'vault-detokenize-limits': { type: 'string', default: process.env.BENCH_VAULT_DETOKENIZE_LIMITS ?? 'gateway:1000000/1000000' },
    },
  });
  const number = (name, { min = 0, integer = false } = {}) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, got "${values[name]}"`);
    }
    return value;
  };
  const portOffset = number('port-offset', { integer: true });
  return {
    ratePerSecond: number('rate', { min: rateMin }),
    seconds: number('seconds', { min: 1 }),
    warmupSeconds: number('warmup-seconds'),
    directSeconds: number('direct-seconds'),
    idlePayments: number('idle', { integer: true }),
    findMax: values['find-max'],
    stepSeconds: number('step-seconds', { min: 1 }),
    stepWarmupSeconds: number('step-warmup-seconds'),
    pspLatencyMs: number('psp-latency', { integer: true }),
    apiUrl: values.url ?? process.env.DIRIGEN_API_URL ?? `http://127.0.0.1:${8080 + portOffset}`,
    simulatorUrl: values.simulator ?? process.env.DIRIGEN_SIMULATOR_URL ?? `http://127.0.0.1:${8090 + portOffset}`,
    apiKey: values.key,
    dataDir: resolve(values['data-dir']),
    portOffset,
    replicas: number('replicas', { min: 1, integer: true }),
    databaseUrl: values['database-url'],
    kafkaBrokers: values['kafka-brokers']?.split(',') ?? process.env.KAFKA_BROKERS?.split(',') ?? [`127.0.0.1:${9092 + portOffset}`],
    // The vault's replicas serve metrics on 8082 + 1000·i (scripts/platform/services.mjs); at least two run.
    vaultMetricsUrls: values['vault-metrics']?.split(',') ?? [0, 1].map((index) => `http://127.0.0.1:${8082 + 1_000 * index + portOffset}/metrics`),
    ceilingMessages: number('ceiling-messages', { integer: true }),
    vaultCalls: number('vault-calls', { integer: true }),
    vaultConcurrency: number('vault-concurrency', { min: 1, integer: true }),
    vaultAddress: values['vault-address'] ?? process.env.VAULT_GRPC_ADDRESS ?? `127.0.0.1:${8083 + portOffset}`,
    vaultDetokenizeLimits: values['vault-detokenize-limits'],
  };
}
