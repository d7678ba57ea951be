import { createHash, timingSafeEqual } from 'node:crypto';

export type VaultPermission = 'tokenize' | 'detokenize' | 'audit';

/** Which internal caller may do what: only intake tokenizes, only the gateway detokenizes, only the auditor reads the audit trail. */
const permissionsByCaller: Record<string, VaultPermission[]> = {
  intake: ['tokenize'],
  gateway: ['detokenize'],
  auditor: ['audit'],
};

/**
 * Authenticates internal callers by a per-service secret (`VAULT_CALLERS=intake:<secret>,gateway:<secret>`),
 * compared in constant time over SHA-256 digests so neither content nor length leaks.
 */
export class CallerAuthenticator {
  private readonly secretDigests = new Map<string, Buffer>();

  constructor(callers: string) {
    for (const entry of callers.split(',').map((part) => part.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const name = entry.slice(0, separator);
      const secret = entry.slice(separator + 1);
      if (separator <= 0 || secret.length < 16) throw new Error('VAULT_CALLERS entries must be <name>:<secret of 16+ characters>');
      this.secretDigests.set(name, digest(secret));
    }
  }

  /** `ok` when the caller's secret matches and it holds `permission`. */
  authenticate(caller: string | undefined, secret: string | undefined, permission: VaultPermission): 'ok' | 'unauthenticated' | 'forbidden' {
    if (!caller || !secret) return 'unauthenticated';
    const expected = this.secretDigests.get(caller);
    const presented = digest(secret);
    const matches = timingSafeEqual(presented, expected ?? digest('\u0000no caller'));
    if (!expected || !matches) return 'unauthenticated';
    return permissionsByCaller[caller]?.includes(permission) ? 'ok' : 'forbidden';
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
