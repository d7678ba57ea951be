import { createHmac } from 'node:crypto';

/**
 * The idempotency fingerprint of a request: a keyed HMAC of the body with object keys sorted, so
 * the same body always gives the same value. The card security code is left out: PCI DSS 3.3.1.2
 * forbids keeping it after authorization in any form, hashed included. (A retry that differs only
 * in its security code replays the first answer.)
 */
export function requestFingerprint(secret: Buffer, body: unknown): Buffer {
  return createHmac('sha256', secret).update(stableStringify(body)).digest();
}

/**
 * What intake stores of a merchant's Idempotency-Key: a keyed HMAC, never the key itself. A key is
 * the merchant's free text (a card number typed into it would otherwise sit in a table in plain
 * text), and with the secret out of the database, the stored digest reveals nothing of it. Lookups
 * compare digests: the same key always gives the same 32 bytes.
 */
export function idempotencyKeyHash(secret: Buffer, idempotencyKey: string): Buffer {
  return createHmac('sha256', secret).update(`idempotency-key\u0000${idempotencyKey}`).digest();
}

/**
 * The vault's request id for the tokenization behind a merchant's Idempotency-Key: a retry (say,
 * after the vault's answer was lost) then gets the same token instead of an orphaned second record.
 * Keyed, so the vault never sees the merchant's key itself; 43 characters.
 */
export function tokenizeRequestId(secret: Buffer, use: 'payment' | 'saved', merchantId: string, idempotencyKey: string): string {
  return createHmac('sha256', secret).update(`tokenize\u0000${use}\u0000${merchantId}\u0000${idempotencyKey}`).digest('base64url');
}

const leftOutKeys = new Set(['cvc']);

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([key, entry]) => entry !== undefined && !leftOutKeys.has(key))
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableStringify(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
