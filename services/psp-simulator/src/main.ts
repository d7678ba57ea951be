import { recordsMaxDefault, startSimulator } from './simulator';
import { latencyMsMax } from './simulator-control';

/** Reads an integer setting; a malformed one stops the start instead of running a drill on a guess. */
function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'psp-simulator', ...fields })}\n`);
}

async function main(): Promise<void> {
  const port = integerFromEnv('PORT', 8090, 0, 65_535);
  const latencyMs = integerFromEnv('SIMULATOR_LATENCY_MS', 0, 0, latencyMsMax);
  const recordsMax = integerFromEnv('SIMULATOR_RECORDS_MAX', recordsMaxDefault, 1, 10_000_000);
  const simulator = await startSimulator({ port, latencyMs, recordsMax });
  log({ msg: 'listening', port: simulator.port, latency_ms: latencyMs, records_max: recordsMax, psp: 'stripe' });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => {
        log({ msg: 'stopped', signal });
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'close failed', error: String(error) })}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', service: 'psp-simulator', msg: 'start failed', error: String(error) })}\n`);
  process.exit(1);
});
