// Runs one service process, tees its output to the console and .data/logs/<instance>.log, and restarts
// it when it dies unexpectedly (as Kubernetes would), with backoff.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const restartBackoffMaxMs = 10_000;
const stopGraceMs = 15_000;

export class SupervisedProcess {
  constructor({ instance, command, args, env, logsDir, runDir, echo = true }) {
    Object.assign(this, { instance, command, args, env, logsDir, runDir, echo });
    mkdirSync(logsDir, { recursive: true });
    mkdirSync(runDir, { recursive: true });
    this.log = createWriteStream(join(logsDir, `${instance}.log`), { flags: 'a' });
    this.stopping = false;
    this.restarts = 0;
  }

  start() {
    const child = spawn(this.command, this.args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    writeFileSync(join(this.runDir, `${this.instance}.pid`), String(child.pid));
    const prefix = `[${this.instance}] `;
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.on('data', (chunk) => {
        this.log.write(chunk);
        if (!this.echo) return;
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) process.stdout.write(prefix + line + '\n');
      });
    }
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      this.child = undefined;
      if (this.stopping) return;
      const uptimeMs = Date.now() - startedAt;
      if (uptimeMs > 30_000) this.restarts = 0;
      const delayMs = Math.min(restartBackoffMaxMs, 250 * 2 ** this.restarts++);
      const line = `[platform] ${this.instance} exited (${signal ?? code}); restarting in ${delayMs} ms\n`;
      this.log.write(line);
      process.stdout.write(line);
      this.restartTimer = setTimeout(() => this.start(), delayMs);
    });
    return child;
  }

  get pid() {
    return this.child?.pid;
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves when the process is gone. */
  async stop() {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    rmSync(join(this.runDir, `${this.instance}.pid`), { force: true });
    if (!child) return;
    await new Promise((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    this.log.end();
  }
}
