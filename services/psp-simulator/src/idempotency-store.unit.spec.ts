import { describe, expect, it } from 'vitest';
import { IdempotencyStore } from './idempotency-store';

const created = { statusCode: 200, bodyText: '{"id":"pi_1"}' };

describe('idempotency store', () => {
  it('replays the first answer for the same key and request', () => {
    const store = new IdempotencyStore(10);
    const first = store.claim('sk_test_a', 'key-1', 'POST', '/v1/payment_intents', 'amount=1');
    if (first.kind !== 'first') throw new Error('expected the first claim');
    first.complete(created);
    expect(store.claim('sk_test_a', 'key-1', 'POST', '/v1/payment_intents', 'amount=1')).toEqual({ kind: 'replay', response: created });
  });

  it('makes a replay that arrives in flight wait for the first answer', async () => {
    const store = new IdempotencyStore(10);
    const first = store.claim('sk_test_a', 'key-1', 'POST', '/p', 'b');
    const replay = store.claim('sk_test_a', 'key-1', 'POST', '/p', 'b');
    if (first.kind !== 'first' || replay.kind !== 'replay') throw new Error('expected first then replay');
    expect(replay.response).toBeInstanceOf(Promise);
    first.complete(created);
    await expect(replay.response).resolves.toBe(created);
  });

  it('calls the same key with another body a conflict', () => {
    const store = new IdempotencyStore(10);
    store.claim('sk_test_a', 'key-1', 'POST', '/p', 'amount=1');
    expect(store.claim('sk_test_a', 'key-1', 'POST', '/p', 'amount=2').kind).toBe('conflict');
  });

  it('names the parameters a conflicting body changed, added or left out, never their values', () => {
    const store = new IdempotencyStore(10);
    store.claim('sk_test_a', 'key-1', 'POST', '/p', 'amount=1&currency=usd&card%5Bcvc%5D=123');
    expect(store.claim('sk_test_a', 'key-1', 'POST', '/p', 'amount=2&currency=usd&description=x')).toEqual({ kind: 'conflict', differingParameters: ['amount', 'card[cvc]', 'description'] });
  });

  it('scopes keys by API key, as Stripe scopes them by account', () => {
    const store = new IdempotencyStore(10);
    store.claim('sk_test_a', 'key-1', 'POST', '/p', 'b');
    expect(store.claim('sk_test_b', 'key-1', 'POST', '/p', 'b').kind).toBe('first');
  });

  it('forgets the oldest key beyond its limit', () => {
    const store = new IdempotencyStore(2);
    for (const key of ['k1', 'k2', 'k3']) store.claim('sk_test_a', key, 'POST', '/p', 'b');
    expect(store.size).toBe(2);
    expect(store.claim('sk_test_a', 'k1', 'POST', '/p', 'b').kind).toBe('first');
    expect(store.claim('sk_test_a', 'k3', 'POST', '/p', 'b').kind).toBe('replay');
  });

  it('leaves the key free after a request refused for its parameters, as Stripe does', () => {
    const store = new IdempotencyStore(10);
    const first = store.claim('sk_test_a', 'key-1', 'POST', '/p', 'amount=abc');
    if (first.kind !== 'first') throw new Error('expected the first claim');
    first.complete({ statusCode: 400, bodyText: '{"error":{"type":"invalid_request_error"}}' });
    expect(store.claim('sk_test_a', 'key-1', 'POST', '/p', 'amount=100').kind).toBe('first');
  });
});
