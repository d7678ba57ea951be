/** Why the vault refused or failed a call: the one error of the vault's boundary, mapped to a status by each transport. */
export type VaultErrorCode =
  | 'invalid_card'
  | 'invalid_request'
  | 'caller_unauthenticated'
  | 'caller_forbidden'
  | 'rate_limited'
  | 'token_not_found'
  | 'cvc_expired'
  | 'vault_busy'
  | 'key_unavailable'
  | 'integrity_failure';

export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    /** The request field at fault, for `invalid_card` / `invalid_request`. */
    readonly field?: string,
    /** A finer code for card failures (`invalid_number`, `invalid_expiry_year` …). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}
