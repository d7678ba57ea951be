import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, platform } from './api';

export function pidOf(instance: string): number {
  return Number(readFileSync(join(platform.dataDir, 'run', `${instance}.pid`), 'utf8'));
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
