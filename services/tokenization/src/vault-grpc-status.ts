import { Metadata, status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { vaultErrorMetadataKeys } from '@dirigen/vault-client';
import type { VaultError, VaultErrorCode } from './vault-error';

/** Each vault refusal's gRPC status: what a generic gRPC client, proxy or dashboard makes of it. */
export const grpcStatusByVaultCode: Record<VaultErrorCode, status> = {
  invalid_card: status.INVALID_ARGUMENT,
  invalid_request: status.INVALID_ARGUMENT,
  caller_unauthenticated: status.UNAUTHENTICATED,
  caller_forbidden: status.PERMISSION_DENIED,
  rate_limited: status.RESOURCE_EXHAUSTED,
  token_not_found: status.NOT_FOUND,
  // The call was fine; the vault's state (the code is gone) does not allow it any more.
  cvc_expired: status.FAILED_PRECONDITION,
  vault_busy: status.UNAVAILABLE,
  key_unavailable: status.INTERNAL,
  // The stored ciphertext failed authentication: unrecoverable without a backup.
  integrity_failure: status.DATA_LOSS,
};

/** The error grpc-js sends for a vault refusal: a status, our code (and the field at fault) in trailers. Vault messages never hold card data. */
export function grpcErrorOf(error: VaultError): { code: status; message: string; metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set(vaultErrorMetadataKeys.code, error.code);
  if (error.field) metadata.set(vaultErrorMetadataKeys.field, error.field);
  if (error.detail) metadata.set(vaultErrorMetadataKeys.detail, error.detail);
  return { code: grpcStatusByVaultCode[error.code], message: error.message, metadata };
}

/** NestJS hands an RpcException's error object to grpc-js as is. */
export function rpcExceptionOf(error: VaultError): RpcException {
  return new RpcException(grpcErrorOf(error));
}
