import { createHash, timingSafeEqual } from 'node:crypto';

export type VaultPermission = 'tokenize' | 'detokenize' | 'audit';

/** Who is calling, as presented by the transport (gRPC metadata, and the TLS peer certificate). */
export interface CallerCredential {
  name: string | undefined;
  secret: string | undefined;
  /** The caller name of the client certificate the TLS handshake verified; undefined without one (plaintext). */
  certificateName: string | undefined;
}

/** Which internal caller may do what: only intake tokenizes, only the gateway detokenizes, only the auditor reads the audit trail. */
const permissionsByCaller: Record<string, VaultPermission[]> = {
  intake: ['tokenize'],
  gateway: ['detokenize'],
  auditor: ['audit'],
};

export type CallerVerdict = 'ok' | 'unauthenticated' | 'certificate_mismatch' | 'forbidden';

export interface CallerAuthenticatorOptions {
  /**
   * True when the vault serves mutual TLS: every call must then come with a verified client
   * certificate naming the same caller as the metadata, or it is refused (fail closed, even if the
   * transport somehow let a call through without one).
   */
  certificateRequired: boolean;
}

/**
 * Authenticates internal callers by a per-service secret (`VAULT_CALLERS=intake:<secret>,gateway:<secret>`),
 * compared in constant time over SHA-256 digests so neither content nor length leaks, and, under
 * mutual TLS, by the client certificate's name too: a stolen secret is useless without the key of
 * that service's certificate, and one service's certificate cannot speak for another.
 */
export class CallerAuthenticator {
  private readonly secretDigests = new Map<string, Buffer>();

  constructor(callers: string, private readonly options: CallerAuthenticatorOptions) {
    for (const entry of callers.split(',').map((part) => part.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const name = entry.slice(0, separator);
      const secret = entry.slice(separator + 1);
      if (separator <= 0 || secret.length < 16) throw new Error('VAULT_CALLERS entries must be <name>:<secret of 16+ characters>');
      this.secretDigests.set(name, digest(secret));
    }
  }

  /**
   * `ok` when the caller's secret matches, its certificate (if any, and always under mutual TLS)
   * names the same caller, and it holds `permission`. A certificate naming another caller is
   * `certificate_mismatch` whatever the secret: it is the impersonation the binding exists to catch.
   */
  authenticate(credential: CallerCredential, permission: VaultPermission): CallerVerdict {
    const { name, secret, certificateName } = credential;
    if (!name || !secret) return 'unauthenticated';
    const expected = this.secretDigests.get(name);
    const presented = digest(secret);
    const matches = timingSafeEqual(presented, expected ?? digest('\u0000no caller'));
    if ((this.options.certificateRequired || certificateName !== undefined) && certificateName !== name) return 'certificate_mismatch';
    if (!expected || !matches) return 'unauthenticated';
    return permissionsByCaller[name]?.includes(permission) ? 'ok' : 'forbidden';
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The caller a verified client certificate names: its subject's one CN. Several CNs (Node then
 * gives an array) name nobody, so the call is refused rather than matched against any of them.
 */
export function callerNameOfCertificate(subject: { CN?: string | string[] } | undefined): string | undefined {
  const commonName = subject?.CN;
  return typeof commonName === 'string' && commonName.length > 0 ? commonName : undefined;
}
