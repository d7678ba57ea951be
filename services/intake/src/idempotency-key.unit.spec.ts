import { describe, expect, it } from 'vitest';
import { ApiError } from '@dirigen/service-kit';
import { idempotencyKeyLengthMax, validIdempotencyKey } from './idempotency-key';

function refusal(header: string): unknown {
  try {
    validIdempotencyKey(header);
  } catch (error) {
    return error instanceof ApiError ? error.toBody().error : error;
  }
  return undefined;
}

describe('validIdempotencyKey', () => {
  it('given no header, when validated, then there is no key', () => {
    expect(validIdempotencyKey(undefined)).toBeUndefined();
  });

  it('given keys as merchants make them (a UUID, <prefix>-<ms timestamp>-<n>, digits), when validated, then each is taken as sent', () => {
    for (const key of ['1f0e5c9a-6b1d-4c3e-9a51-0b6f3f0c2d11', 'order-1764201600004-3', '4242424242424242', 'x'.repeat(idempotencyKeyLengthMax)]) {
      expect(validIdempotencyKey(key)).toBe(key);
    }
  });

  it('given an empty, over-long or non-printable key, when validated, then it is refused naming the header, not echoing it', () => {
    for (const key of ['', 'x'.repeat(idempotencyKeyLengthMax + 1), 'key\u0000nul', 'key\nnewline', 'key with space', 'clé']) {
      expect(refusal(key), JSON.stringify(key)).toMatchObject({ type: 'invalid_request_error', code: 'idempotency_key_invalid', param: 'Idempotency-Key' });
      expect(JSON.stringify(refusal(key))).not.toContain(key || '\u0001');
    }
  });
});
