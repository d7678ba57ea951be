import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { vaultErrorCodes } from '@dirigen/vault-client';
import { grpcErrorOf, grpcStatusByVaultCode } from './vault-grpc-status';
import { VaultError } from './vault-error';

describe('grpcErrorOf', () => {
  it('sends a card refusal as INVALID_ARGUMENT with the code, the field and the detail in trailers', () => {
    const error = grpcErrorOf(new VaultError('invalid_card', 'The card number is not a valid card number.', 'number', 'invalid_number'));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.message).toBe('The card number is not a valid card number.');
    expect(error.metadata.getMap()).toEqual({ 'dirigen-vault-error': 'invalid_card', 'dirigen-vault-field': 'number', 'dirigen-vault-detail': 'invalid_number' });
  });

  it.each([
    ['caller_unauthenticated', status.UNAUTHENTICATED],
    ['caller_forbidden', status.PERMISSION_DENIED],
    ['rate_limited', status.RESOURCE_EXHAUSTED],
    ['token_not_found', status.NOT_FOUND],
    ['cvc_expired', status.FAILED_PRECONDITION],
    ['vault_busy', status.UNAVAILABLE],
    ['key_unavailable', status.INTERNAL],
    ['integrity_failure', status.DATA_LOSS],
  ] as const)('maps %s to gRPC status %s', (code, expected) => {
    const error = grpcErrorOf(new VaultError(code, 'refused'));
    expect(error.code).toBe(expected);
    expect(error.metadata.get('dirigen-vault-error')).toEqual([code]);
  });

  it('maps exactly the codes the shared client understands', () => {
    expect(Object.keys(grpcStatusByVaultCode).sort()).toEqual([...vaultErrorCodes].sort());
  });
});
