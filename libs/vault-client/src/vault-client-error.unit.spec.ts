import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VaultClientError, vaultClientErrorOf, VaultUnavailableError } from './vault-client-error';

function failure(code: status, trailers: Record<string, string> = {}, details = 'refused') {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

describe('vaultClientErrorOf', () => {
  it('names the card field and detail when the vault refuses a card', () => {
    const error = vaultClientErrorOf(failure(status.INVALID_ARGUMENT, { 'dirigen-vault-error': 'invalid_card', 'dirigen-vault-field': 'cvc', 'dirigen-vault-detail': 'invalid_cvc' }), 'tokenize');
    expect(error).toBeInstanceOf(VaultClientError);
    expect(error).not.toBeInstanceOf(VaultUnavailableError);
    expect(error).toMatchObject({ code: 'invalid_card', field: 'cvc', detail: 'invalid_cvc', grpcStatus: status.INVALID_ARGUMENT, message: 'refused' });
  });

  it.each([
    ['token_not_found', status.NOT_FOUND],
    ['cvc_expired', status.FAILED_PRECONDITION],
    ['invalid_request', status.INVALID_ARGUMENT],
  ] as const)('keeps %s a refusal of the request', (code, grpcStatus) => {
    const error = vaultClientErrorOf(failure(grpcStatus, { 'dirigen-vault-error': code }), 'detokenize');
    expect(error).not.toBeInstanceOf(VaultUnavailableError);
    expect(error.code).toBe(code);
  });

  it.each([
    ['caller_unauthenticated', status.UNAUTHENTICATED],
    ['caller_forbidden', status.PERMISSION_DENIED],
    ['rate_limited', status.RESOURCE_EXHAUSTED],
    ['vault_busy', status.UNAVAILABLE],
    ['key_unavailable', status.INTERNAL],
    ['integrity_failure', status.DATA_LOSS],
  ] as const)('makes %s the vault being unavailable to this caller, not the request at fault', (code, grpcStatus) => {
    const error = vaultClientErrorOf(failure(grpcStatus, { 'dirigen-vault-error': code }), 'detokenize');
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error.code).toBe(code);
  });

  it.each([
    [status.DEADLINE_EXCEEDED, 'deadline_exceeded'],
    [status.UNAVAILABLE, 'unreachable'],
    [status.UNKNOWN, 'unexpected_answer'],
    [status.NOT_FOUND, 'unexpected_answer'],
  ] as const)('falls back to the gRPC status %s when the vault never answered with its code', (grpcStatus, code) => {
    const error = vaultClientErrorOf(failure(grpcStatus, {}, 'No connection established'), 'tokenize');
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error.code).toBe(code);
    expect(error.message).toBe('vault tokenize: No connection established');
  });

  it('ignores a code the vault does not define', () => {
    expect(vaultClientErrorOf(failure(status.INVALID_ARGUMENT, { 'dirigen-vault-error': 'made_up' }), 'tokenize')).toMatchObject({ code: 'unexpected_answer' });
  });
});
