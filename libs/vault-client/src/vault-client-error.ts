import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

/** The trailing metadata the vault sets on every refusal (proto/dirigen/vault/v1/vault.proto). */
export const vaultErrorMetadataKeys = { code: 'dirigen-vault-error', field: 'dirigen-vault-field', detail: 'dirigen-vault-detail' } as const;

/** The vault's own refusal codes, as it sends them in `dirigen-vault-error`. */
export const vaultErrorCodes = [
  'invalid_card',
  'invalid_request',
  'caller_unauthenticated',
  'caller_forbidden',
  'rate_limited',
  'token_not_found',
  'cvc_expired',
  'vault_busy',
  'key_unavailable',
  'integrity_failure',
] as const;

export type VaultErrorCode = (typeof vaultErrorCodes)[number];

/** Why a call failed: a vault code, or the transport's (no answer in time, no connection, an answer we cannot read). */
export type VaultClientErrorCode = VaultErrorCode | 'deadline_exceeded' | 'unreachable' | 'unexpected_answer';

/** The one error of the vault client's boundary: the vault refused the request itself (bad card, unknown token …). */
export class VaultClientError extends Error {
  constructor(
    readonly code: VaultClientErrorCode,
    message: string,
    /** The request field at fault, for `invalid_card` / `invalid_request` (`number`, `cvc`, `token` …). */
    readonly field?: string,
    /** A finer code for card failures (`invalid_number`, `invalid_cvc` …). */
    readonly detail?: string,
    /** The gRPC status the call ended with. */
    readonly grpcStatus?: status,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VaultClientError';
  }
}

/**
 * The vault cannot answer now, or will not answer this caller (a misconfigured credential, a rate
 * limit, a broken key): not the request's fault. The gateway retries the event; intake answers 503.
 */
export class VaultUnavailableError extends VaultClientError {
  constructor(code: VaultClientErrorCode, message: string, grpcStatus?: status, options?: { cause?: unknown }) {
    super(code, message, undefined, undefined, grpcStatus, options);
    this.name = 'VaultUnavailableError';
  }
}

/** Refusals about the request itself; every other failure means the vault is unavailable to this caller. */
const requestFaults: ReadonlySet<VaultClientErrorCode> = new Set(['invalid_card', 'invalid_request', 'token_not_found', 'cvc_expired']);

/**
 * Classifies a failed call by the vault's code in the trailers, falling back to the gRPC status
 * when the vault never answered (deadline, connection refused, a proxy's error).
 */
export function vaultClientErrorOf(error: Pick<ServiceError, 'code' | 'details' | 'metadata'>, method: string): VaultClientError {
  const metadata = error.metadata instanceof Metadata ? error.metadata : new Metadata();
  const sent = firstString(metadata, vaultErrorMetadataKeys.code);
  const code: VaultClientErrorCode = isVaultErrorCode(sent) ? sent : transportCode(error.code);
  // The vault's own messages are written for its callers and never carry card data; a transport's
  // details are kept for the operator, with the method that failed.
  const message = isVaultErrorCode(sent) && error.details ? error.details : `vault ${method}: ${error.details || status[error.code] || 'failed'}`;
  if (!requestFaults.has(code)) return new VaultUnavailableError(code, message, error.code);
  return new VaultClientError(code, message, firstString(metadata, vaultErrorMetadataKeys.field), firstString(metadata, vaultErrorMetadataKeys.detail), error.code);
}

function transportCode(grpcStatus: status): VaultClientErrorCode {
  if (grpcStatus === status.DEADLINE_EXCEEDED) return 'deadline_exceeded';
  if (grpcStatus === status.UNAVAILABLE) return 'unreachable';
  return 'unexpected_answer';
}

function isVaultErrorCode(value: string | undefined): value is VaultErrorCode {
  return (vaultErrorCodes as readonly (string | undefined)[]).includes(value);
}

function firstString(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}
