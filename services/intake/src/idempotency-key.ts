import { ApiError } from '@dirigen/service-kit';

export const idempotencyKeyLengthMax = 255;

/**
 * The `Idempotency-Key` header as sent, or undefined when absent; refuses an empty, too long or
 * non-printable one (control characters included). Its content is the merchant's business: intake
 * stores only its keyed hash (`idempotencyKeyHash`), so it is not scanned for card numbers.
 */
export function validIdempotencyKey(header: string | undefined): string | undefined {
  if (header !== undefined && (header.length === 0 || header.length > idempotencyKeyLengthMax || !/^[\x21-\x7e]+$/.test(header))) {
    throw ApiError.invalidRequest('idempotency_key_invalid', `Idempotency-Key must be 1 to ${idempotencyKeyLengthMax} printable ASCII characters.`, 'Idempotency-Key');
  }
  return header;
}
