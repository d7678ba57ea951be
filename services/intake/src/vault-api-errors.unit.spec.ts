import { status } from '@grpc/grpc-js';
import { VaultClientError, VaultUnavailableError } from '@dirigen/vault-client';
import { describe, expect, it } from 'vitest';
import { apiErrorOfVault } from './vault-api-errors';

describe('apiErrorOfVault', () => {
  it('makes a card the vault refuses a 402 card_error naming the card field', () => {
    const error = apiErrorOfVault(new VaultClientError('invalid_card', "The card's security code must be 4 digits.", 'cvc', 'invalid_cvc', status.INVALID_ARGUMENT));
    expect(error?.status).toBe(402);
    expect(error?.toBody()).toEqual({ error: { type: 'card_error', code: 'invalid_cvc', message: "The card's security code must be 4 digits.", param: 'payment_method.card.cvc' } });
  });

  it.each([
    new VaultUnavailableError('unreachable', 'vault Tokenize: No connection established', status.UNAVAILABLE),
    new VaultUnavailableError('deadline_exceeded', 'vault Tokenize: Deadline exceeded', status.DEADLINE_EXCEEDED),
    new VaultUnavailableError('caller_unauthenticated', 'The internal caller credential is missing or wrong.', status.UNAUTHENTICATED),
    new VaultClientError('invalid_request', 'Invalid merchant_id', 'merchant_id', undefined, status.INVALID_ARGUMENT),
  ])('makes anything else ($code) a retryable 503 vault_unavailable', (vaultError) => {
    const error = apiErrorOfVault(vaultError);
    expect(error?.status).toBe(503);
    expect(error?.toBody().error).toMatchObject({ type: 'api_error', code: 'vault_unavailable' });
  });

  it("makes the vault's refusal of a reused tokenize request id a 400 idempotency_error on the Idempotency-Key", () => {
    const error = apiErrorOfVault(new VaultClientError('invalid_request', 'This request id already stored another card.', 'request_id', undefined, status.INVALID_ARGUMENT));
    expect(error?.status).toBe(400);
    expect(error?.toBody().error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused', param: 'Idempotency-Key' });
  });

  it('leaves other errors to the defaults', () => {
    expect(apiErrorOfVault(new Error('boom'))).toBeUndefined();
  });
});
