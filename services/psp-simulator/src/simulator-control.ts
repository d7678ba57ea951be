/** The faults a drill can inject, as `GET|POST /_sim/control` reads and writes them (snake_case on the wire). */
export interface SimulatorControl {
  /** Added before every Stripe answer: the PSP's processing time. */
  latencyMs: number;
  /** Fraction of Stripe requests answered 500 with a non-Stripe body, before any processing. */
  errorRate: number;
  /** Fraction of Stripe requests processed but never answered (the hang is capped at `hangMsMax`). */
  timeoutRate: number;
  /** Every Stripe request answered 503, nothing processed. */
  outage: boolean;
}

export const latencyMsMax = 60_000;
/** A "timeout" holds the connection at most this long, then drops it without an answer. */
export const hangMsMax = 30_000;

export function initialControl(latencyMs: number): SimulatorControl {
  return { latencyMs, errorRate: 0, timeoutRate: 0, outage: false };
}

export function controlToWire(control: SimulatorControl): Record<string, number | boolean> {
  return {
    latency_ms: control.latencyMs,
    error_rate: control.errorRate,
    timeout_rate: control.timeoutRate,
    outage: control.outage,
  };
}

export type ControlUpdate = { ok: true; control: SimulatorControl } | { ok: false; message: string };

/**
 * Applies a partial update; fields left out keep their value. All or nothing: one invalid field
 * rejects the whole update, so a drill never runs half-configured.
 */
export function applyControlUpdate(current: SimulatorControl, body: unknown): ControlUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'The body must be a JSON object.' };
  const fields = body as Record<string, unknown>;
  const known = ['latency_ms', 'error_rate', 'timeout_rate', 'outage'];
  const unknown = Object.keys(fields).filter((key) => !known.includes(key));
  if (unknown.length > 0) return { ok: false, message: `Unknown field(s): ${unknown.join(', ')}. Known: ${known.join(', ')}.` };
  const next = { ...current };
  if ('latency_ms' in fields) {
    const value = fields['latency_ms'];
    if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > latencyMsMax) {
      return { ok: false, message: `latency_ms must be an integer from 0 to ${latencyMsMax}.` };
    }
    next.latencyMs = value as number;
  }
  for (const [wireName, key] of [['error_rate', 'errorRate'], ['timeout_rate', 'timeoutRate']] as const) {
    if (!(wireName in fields)) continue;
    const value = fields[wireName];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) return { ok: false, message: `${wireName} must be a number from 0 to 1.` };
    next[key] = value;
  }
  if ('outage' in fields) {
    if (typeof fields['outage'] !== 'boolean') return { ok: false, message: 'outage must be true or false.' };
    next.outage = fields['outage'];
  }
  // One random draw decides error, then timeout, so each rate holds exactly only if they fit together.
  if (next.errorRate + next.timeoutRate > 1) return { ok: false, message: 'error_rate + timeout_rate must not exceed 1.' };
  return { ok: true, control: next };
}

export type InjectedFault = 'none' | 'error' | 'timeout';

/** Which fault, if any, this request gets. `draw` is uniform in [0, 1). */
export function pickFault(control: SimulatorControl, draw: number): InjectedFault {
  if (draw < control.errorRate) return 'error';
  if (draw < control.errorRate + control.timeoutRate) return 'timeout';
  return 'none';
}
