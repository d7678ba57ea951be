import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The compiled simulator: `npm test` builds before its int stage (as `npm start` does before starting it). */
const simulatorEntry = join(resolve(process.cwd()), 'dist/services/psp-simulator/src/main.js');
const startTimeoutMs = 10_000;
const stopTimeoutMs = 5_000;

export interface PspSimulatorStats {
  requests_served: number;
  /** PaymentIntents confirmed, by what the card decided (replays not counted). */
  authorizations: { approved: number; declined: number; processing_error: number; requires_action: number };
  idempotent_replays: number;
  idempotency_conflicts: number;
}

/** The PSP simulator (product code, services/psp-simulator) as its own process, as the platform runs it. */
export class PspSimulatorProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
  ) {}

  /** Starts it on a free port; resolves once it listens. */
  static async start(): Promise<PspSimulatorProcess> {
    if (!existsSync(simulatorEntry)) throw new Error(`${simulatorEntry} is missing: build first (npm run build; npm test does it)`);
    const child = spawn(process.execPath, [simulatorEntry], { env: { ...process.env, PORT: '0', SIMULATOR_LATENCY_MS: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`the PSP simulator did not listen within ${startTimeoutMs} ms`)), startTimeoutMs);
      child.once('exit', (code) => fail(new Error(`the PSP simulator exited with ${code} before listening`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = parseLogLine(line);
        if (entry?.msg === 'listening' && entry.port) {
          clearTimeout(timer);
          done(entry.port);
        }
      });
    });
    return new PspSimulatorProcess(child, `http://127.0.0.1:${port}`);
  }

  async stats(): Promise<PspSimulatorStats> {
    return (await fetch(`${this.baseUrl}/_sim/stats`)).json() as Promise<PspSimulatorStats>;
  }

  /** Sets its fault injection (`error_rate`, `timeout_rate`, `outage`, `latency_ms`). */
  async control(settings: Record<string, number | boolean>): Promise<void> {
    const response = await fetch(`${this.baseUrl}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
    if (!response.ok) throw new Error(`simulator control refused: ${response.status} ${await response.text()}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

function parseLogLine(line: string): { msg?: string; port?: number } | undefined {
  try {
    return JSON.parse(line) as { msg?: string; port?: number };
  } catch {
    return undefined; // not one of its JSON log lines
  }
}
