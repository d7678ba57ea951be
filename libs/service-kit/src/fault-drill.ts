import { readFileSync, unlinkSync } from 'node:fs';
import type { Logger } from '@dirigen/observability';

/** What a fault drill file asks for: the named service dies at the named moment, once. */
interface FaultDrill {
  service: string;
  fault: 'kill-after-publish';
}

/**
 * Fault injection for drills and the e2e suite, off unless `DIRIGEN_FAULT_DRILL_FILE` names a
 * file. When that file exists and names this service, the first replica to claim it (by deleting
 * it: a second replica finds it gone) SIGKILLs itself right after the broker acknowledged the
 * events it produced and before it deleted their outbox rows (a `stored` stage) or committed its
 * input offsets (a `carried` one: fraud, routing) — the window where a stage's outputs are
 * published once and will be published again. Checked only after a publish, and only where the
 * variable is set.
 */
export function killAfterPublishDrill(service: string, drillFile: string | undefined, logger: Logger): (() => void) | undefined {
  if (!drillFile) return undefined;
  return () => {
    let drill: FaultDrill;
    try {
      drill = JSON.parse(readFileSync(drillFile, 'utf8')) as FaultDrill;
    } catch {
      return; // no drill asked for (or not readable yet)
    }
    if (drill.service !== service || drill.fault !== 'kill-after-publish') return;
    try {
      unlinkSync(drillFile);
    } catch {
      return; // another replica claimed it
    }
    logger.warn({ drillFile }, 'fault drill: SIGKILL right after publishing, before deleting the outbox rows or committing the input offsets');
    process.kill(process.pid, 'SIGKILL');
  };
}
