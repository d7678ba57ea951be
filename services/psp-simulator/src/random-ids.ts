import { randomFillSync } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Random bytes are drawn in blocks so an id costs no syscall and no buffer allocation. */
const poolBytes = 4096;
const pool = Buffer.allocUnsafe(poolBytes);
let poolOffset = poolBytes;

/** Alphanumeric like Stripe's ids. The slight modulo bias is irrelevant for a simulator. */
export function randomAlphanumeric(length: number): string {
  let text = '';
  for (let index = 0; index < length; index += 1) {
    if (poolOffset >= poolBytes) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    text += alphabet[pool[poolOffset++]! % alphabet.length];
  }
  return text;
}

/**
 * Stripe-looking ids (`pi_` + 24 characters): a per-process tag, a counter that makes them
 * unique within the process, and random characters so ids are not guessable in a shared staging.
 */
export class IdGenerator {
  private readonly processTag = randomAlphanumeric(8);
  private counter = 0;

  next(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.processTag}${this.counter.toString(36).padStart(8, '0')}${randomAlphanumeric(8)}`;
  }
}
