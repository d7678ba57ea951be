import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, platform } from './api';

export function pidOf(instance: string): number {
  return Number(readFileSync(join(platform.dataDir, 'run', `${instance}.pid`), 'utf8'));
}

/** The instances of one service, e.g. the vault's `tokenization-1`, `tokenization-2`. */
export function instancesOf(service: string): string[] {
  return platform.processes.filter((entry) => entry.name === service).map((entry) => entry.instance);
}

export async function healthy(instance: string): Promise<boolean> {
  const entry = platform.processes.find((candidate) => candidate.instance === instance)!;
  try {
    return (await fetch(`http://127.0.0.1:${entry.port}/health`)).ok;
  } catch {
    return false;
  }
}

/** Waits until the supervisor has restarted `instance` (a new pid) and it answers healthy, as Kubernetes would. */
export async function restarted(instance: string, pidBefore: number): Promise<void> {
  await eventually(async () => (pidOf(instance) !== pidBefore && (await healthy(instance)) ? true : undefined), 60_000, 250);
}

/** kill -9 of `instances` at once; resolves when the supervisor has restarted every one and each answers healthy. */
export async function killedAndRestarted(instances: string[]): Promise<void> {
  const pids = instances.map((instance) => pidOf(instance));
  pids.forEach((pid) => process.kill(pid, 'SIGKILL'));
  await Promise.all(instances.map((instance, index) => restarted(instance, pids[index]!)));
}
