import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyHash, requestFingerprint } from './request-fingerprint';

const secret = randomBytes(32);
const body = { amount: 2000, currency: 'USD', payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' } } };

describe('requestFingerprint', () => {
  it('gives the same value for the same body whatever the key order', () => {
    const reordered = { payment_method: { card: { cvc: '123', exp_year: 2030, exp_month: 12, number: '4242424242424242' }, type: 'card' }, currency: 'USD', amount: 2000 };
    expect(requestFingerprint(secret, reordered).equals(requestFingerprint(secret, body))).toBe(true);
  });

  it('differs when anything but the security code differs', () => {
    expect(requestFingerprint(secret, { ...body, amount: 2001 }).equals(requestFingerprint(secret, body))).toBe(false);
  });

  it('leaves the card security code out, so no form of it is kept', () => {
    const otherCode = { ...body, payment_method: { ...body.payment_method, card: { ...body.payment_method.card, cvc: '999' } } };
    expect(requestFingerprint(secret, otherCode).equals(requestFingerprint(secret, body))).toBe(true);
  });
});

describe('idempotencyKeyHash', () => {
  const key = 'retry-4242424242424242';

  it('gives the same 32 bytes for the same key, so a retry finds its first request', () => {
    expect(idempotencyKeyHash(secret, key)).toHaveLength(32);
    expect(idempotencyKeyHash(secret, key).equals(idempotencyKeyHash(secret, key))).toBe(true);
  });

  it('differs for another key and under another secret', () => {
    expect(idempotencyKeyHash(secret, `${key}x`).equals(idempotencyKeyHash(secret, key))).toBe(false);
    expect(idempotencyKeyHash(randomBytes(32), key).equals(idempotencyKeyHash(secret, key))).toBe(false);
  });

  it('keeps nothing of the key: neither its text nor the card number typed into it', () => {
    const stored = idempotencyKeyHash(secret, key);
    expect(stored.toString('latin1')).not.toContain('4242424242424242');
    expect(stored.toString('hex')).not.toContain(Buffer.from(key).toString('hex'));
  });
});
