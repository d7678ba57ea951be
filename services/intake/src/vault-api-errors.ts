import { ApiError, dependencyRetryAfterSeconds } from '@dirigen/service-kit';
import { VaultClientError } from '@dirigen/vault-client';

/**
 * The vault's answers as the merchant API states them: a card the vault refuses is the
 * merchant's `card_error`; anything else (no answer, a refused credential, our own bad request)
 * is the vault being unavailable, safe to retry with the same Idempotency-Key.
 */
export function apiErrorOfVault(error: unknown): ApiError | undefined {
  if (!(error instanceof VaultClientError)) return undefined;
  if (error.code === 'invalid_card') {
    return new ApiError(402, 'card_error', error.detail ?? 'invalid_card', error.message, `payment_method.card.${error.field ?? 'number'}`);
  }
  // The Idempotency-Key's earlier tokenization stored another card (its answer never reached the merchant).
  if (error.code === 'invalid_request' && error.field === 'request_id') {
    return new ApiError(400, 'idempotency_error', 'idempotency_key_reused', 'This Idempotency-Key was already used with another card.', 'Idempotency-Key');
  }
  return new ApiError(503, 'api_error', 'vault_unavailable', 'Card tokenization is unavailable; retry with the same Idempotency-Key.', undefined, dependencyRetryAfterSeconds);
}
