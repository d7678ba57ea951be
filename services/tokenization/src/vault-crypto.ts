import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const keyBytes = 32;
const nonceBytes = 12;
const authTagBytes = 16;

export interface SealedCard {
  keyVersion: number;
  nonce: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/** What is sealed: the number and expiry. Never the CVC (PCI DSS 3.3.1). */
export interface SealedCardPayload {
  number: string;
  expMonth: number;
  expYear: number;
}

export class VaultCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultCryptoError';
  }
}

/**
 * AES-256-GCM with a fresh 96-bit nonce per record and the merchant and token bound in as
 * associated data, so a ciphertext moved to another merchant or token fails to open.
 * Per-merchant keys are derived (HKDF-SHA256) from the master key of a version; the next
 * issue replaces derivation with stored, wrapped data keys and rotation.
 */
export class VaultCrypto {
  private readonly fingerprintKey: Buffer;

  constructor(
    private readonly masterKeys: ReadonlyMap<number, Buffer>,
    readonly currentKeyVersion: number,
  ) {
    for (const [version, key] of masterKeys) {
      if (key.length !== keyBytes) throw new VaultCryptoError(`master key version ${version} must be ${keyBytes} bytes`);
    }
    const current = masterKeys.get(currentKeyVersion);
    if (!current) throw new VaultCryptoError(`no master key for the current version ${currentKeyVersion}`);
    this.fingerprintKey = Buffer.from(hkdfSync('sha256', current, Buffer.alloc(0), 'dirigen/vault/fingerprint/v1', keyBytes));
  }

  seal(merchantId: string, token: string, payload: SealedCardPayload): SealedCard {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', this.merchantKey(this.currentKeyVersion, merchantId), nonce, { authTagLength: authTagBytes });
    cipher.setAAD(associatedData(merchantId, token));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return { keyVersion: this.currentKeyVersion, nonce, ciphertext, authTag: cipher.getAuthTag() };
  }

  /** Fails closed: a tampered record, another merchant or an unknown key version throws. */
  open(merchantId: string, token: string, sealed: SealedCard): SealedCardPayload {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.merchantKey(sealed.keyVersion, merchantId), sealed.nonce, { authTagLength: authTagBytes });
      decipher.setAAD(associatedData(merchantId, token));
      decipher.setAuthTag(sealed.authTag);
      const plaintext = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
      return JSON.parse(plaintext) as SealedCardPayload;
    } catch (error) {
      if (error instanceof VaultCryptoError) throw error;
      throw new VaultCryptoError('the card record failed authentication (tampered, or sealed for another merchant or key)');
    }
  }

  /** Keyed fingerprint: the same card for the same merchant always gives the same value; without the key it reveals nothing. */
  fingerprint(merchantId: string, cardNumber: string): string {
    return createHmac('sha256', this.fingerprintKey).update(`${merchantId}\u0000${cardNumber}`).digest('base64url').slice(0, 32);
  }

  private merchantKey(version: number, merchantId: string): Buffer {
    const master = this.masterKeys.get(version);
    if (!master) throw new VaultCryptoError(`unknown master key version ${version}`);
    return Buffer.from(hkdfSync('sha256', master, Buffer.from(merchantId, 'utf8'), 'dirigen/vault/card-data/v1', keyBytes));
  }
}

function associatedData(merchantId: string, token: string): Buffer {
  return Buffer.from(`${merchantId}\u0000${token}`, 'utf8');
}

/** `VAULT_MASTER_KEY`: base64 of 32 random bytes (the launcher generates one under .data/ in local mode). */
export function masterKeysFromEnvironment(env: NodeJS.ProcessEnv = process.env): VaultCrypto {
  const encoded = env.VAULT_MASTER_KEY;
  if (!encoded) throw new VaultCryptoError('VAULT_MASTER_KEY is not set');
  const key = Buffer.from(encoded, 'base64');
  const version = Number(env.VAULT_MASTER_KEY_VERSION ?? 1);
  return new VaultCrypto(new Map([[version, key]]), version);
}
