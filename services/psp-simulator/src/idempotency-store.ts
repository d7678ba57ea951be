import { createHash } from 'node:crypto';
import { BoundedMap } from './bounded-map';
import type { SimulatedResponse } from './stripe-wire';

interface IdempotencyEntry {
  /** Hash of method, path and body: the same key with another request is an error, not a replay. */
  fingerprint: string;
  /** A short digest of each parameter's value, by name: a conflict can say which parameters differed (never their values). */
  parameterDigests: Map<string, string>;
  response: SimulatedResponse | undefined;
  /** Replays that arrived while the first request was still being answered. Created only when needed. */
  waiters: ((response: SimulatedResponse) => void)[] | undefined;
}

/**
 * Stripe saves a result only once the endpoint started executing: a request refused for its
 * parameters (400) or for a missing object (404) leaves the key free for a corrected retry.
 */
function isRemembered(response: SimulatedResponse): boolean {
  return response.statusCode !== 400 && response.statusCode !== 404;
}

export type IdempotencyClaim =
  | { kind: 'first'; complete: (response: SimulatedResponse) => void }
  | { kind: 'replay'; response: Promise<SimulatedResponse> | SimulatedResponse }
  | { kind: 'conflict'; differingParameters: string[] };

/**
 * Stripe's idempotency: the first answer to a key is the answer for every later request with it.
 * Keys are scoped by API key, as Stripe scopes them by account. Bounded: the oldest keys go first.
 */
export class IdempotencyStore {
  private readonly entries: BoundedMap<string, IdempotencyEntry>;

  constructor(keysMax: number) {
    this.entries = new BoundedMap(keysMax);
  }

  get size(): number {
    return this.entries.size;
  }

  claim(apiKey: string, idempotencyKey: string, method: string, path: string, body: string): IdempotencyClaim {
    const scopedKey = `${apiKey}\u0000${idempotencyKey}`;
    const fingerprint = createHash('sha256').update(method).update('\u0000').update(path).update('\u0000').update(body).digest('base64');
    const existing = this.entries.get(scopedKey);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'conflict', differingParameters: differingParameters(existing.parameterDigests, parameterDigests(body)) };
      if (existing.response) return { kind: 'replay', response: existing.response };
      const waiters = (existing.waiters ??= []);
      return { kind: 'replay', response: new Promise((resolve) => waiters.push(resolve)) };
    }
    const entry: IdempotencyEntry = { fingerprint, parameterDigests: parameterDigests(body), response: undefined, waiters: undefined };
    this.entries.set(scopedKey, entry);
    return {
      kind: 'first',
      // Holds the entry itself, so waiters are answered even if the key was evicted meanwhile.
      complete: (response) => {
        if (entry.response) throw new Error('invariant: an idempotent response is recorded once');
        entry.response = response;
        entry.waiters?.forEach((resolve) => resolve(response));
        entry.waiters = undefined;
        if (!isRemembered(response) && this.entries.get(scopedKey) === entry) this.entries.delete(scopedKey);
      },
    };
  }

  clear(): void {
    this.entries.clear();
  }
}

function parameterDigests(body: string): Map<string, string> {
  const digests = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body)) digests.set(name, createHash('sha256').update(value).digest('base64').slice(0, 8));
  return digests;
}

/** The names of the parameters present in one body only, or with another value. */
function differingParameters(first: Map<string, string>, second: Map<string, string>): string[] {
  const names = new Set([...first.keys(), ...second.keys()]);
  return [...names].filter((name) => first.get(name) !== second.get(name)).sort();
}
