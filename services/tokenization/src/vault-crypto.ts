import { createHmac } from 'node:crypto';
import { openBox, sealBox } from './keys/aead';
import { type DataKeys, KeyUnavailableError } from './keys/data-keys';

export interface SealedCard {
  /** The merchant's card data key version the record is sealed under. */
  keyVersion: number;
  nonce: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/** What a card record seals: the number and expiry. Never the CVC: a held one is sealed apart (`sealSecurityCode`) and erased after authorization (PCI DSS 3.3.1). */
export interface SealedCardPayload {
  number: string;
  expMonth: number;
  expYear: number;
}

/** A record that cannot be opened: `integrity` (altered, or another merchant/token) or `key_unavailable` (its key version is gone). */
export class VaultCryptoError extends Error {
  constructor(
    readonly reason: 'integrity' | 'key_unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'VaultCryptoError';
  }
}

/**
 * Envelope encryption of card records: AES-256-GCM under the merchant's card data key, a fresh
 * nonce per record, the merchant and token bound in as associated data so a ciphertext moved to
 * another merchant or token fails to open. Data keys live wrapped by a KEK (see keys/).
 */
export class VaultCrypto {
  constructor(private readonly keys: DataKeys) {}

  /** Seals under the merchant's current card key, or under `keyVersion` (re-encryption during rotation). */
  async seal(merchantId: string, token: string, payload: SealedCardPayload, keyVersion?: number): Promise<SealedCard> {
    const { version, key } = keyVersion === undefined ? await this.keys.currentCardKey(merchantId) : { version: keyVersion, key: await this.keys.cardKey(merchantId, keyVersion) };
    const box = sealBox(key, associatedData(merchantId, token), Buffer.from(JSON.stringify(payload), 'utf8'));
    return { keyVersion: version, ...box };
  }

  /** Fails closed: a tampered record, another merchant or token, or an unusable key version throws. */
  async open(merchantId: string, token: string, sealed: SealedCard): Promise<SealedCardPayload> {
    const key = await this.usableCardKey(merchantId, sealed.keyVersion);
    try {
      return JSON.parse(openBox(key, associatedData(merchantId, token), sealed).toString('utf8')) as SealedCardPayload;
    } catch {
      throw new VaultCryptoError('integrity', 'the card record failed authentication (tampered, or sealed for another merchant, token or key)');
    }
  }

  /**
   * Seals a security code held until authorization (PCI DSS 3.3.2): the same AES-256-GCM and card
   * data key as card records, but bound to merchant, token and payment (`''`: the code given at
   * tokenization) under its own label, so it opens for that payment only and never as a card record.
   */
  async sealSecurityCode(merchantId: string, token: string, paymentId: string, cvc: string): Promise<SealedCard> {
    const { version, key } = await this.keys.currentCardKey(merchantId);
    return { keyVersion: version, ...sealBox(key, securityCodeAssociatedData(merchantId, token, paymentId), Buffer.from(cvc, 'utf8')) };
  }

  /** Re-seals a held code under card key `keyVersion` (re-encryption during rotation). */
  async resealSecurityCode(merchantId: string, token: string, paymentId: string, sealed: SealedCard, keyVersion: number): Promise<SealedCard> {
    const cvc = await this.openSecurityCode(merchantId, token, paymentId, sealed);
    const key = await this.keys.cardKey(merchantId, keyVersion);
    return { keyVersion, ...sealBox(key, securityCodeAssociatedData(merchantId, token, paymentId), Buffer.from(cvc, 'utf8')) };
  }

  /** Fails closed like `open`: altered, moved to another token or payment, or its key version gone. */
  async openSecurityCode(merchantId: string, token: string, paymentId: string, sealed: SealedCard): Promise<string> {
    const key = await this.usableCardKey(merchantId, sealed.keyVersion);
    try {
      return openBox(key, securityCodeAssociatedData(merchantId, token, paymentId), sealed).toString('utf8');
    } catch {
      throw new VaultCryptoError('integrity', 'a held security code failed authentication (tampered, or sealed for another merchant, token, payment or key)');
    }
  }

  /** Keyed fingerprint (HMAC-SHA256 under the merchant's fingerprint key): stable across rotations, meaningless without the key. */
  async fingerprint(merchantId: string, cardNumber: string): Promise<string> {
    return createHmac('sha256', await this.keys.fingerprintKey(merchantId)).update(cardNumber).digest('base64url').slice(0, 32);
  }

  /** The card key of a record, or `key_unavailable` when that version is missing or retired. */
  private async usableCardKey(merchantId: string, keyVersion: number): Promise<Buffer> {
    try {
      return await this.keys.cardKey(merchantId, keyVersion);
    } catch (error) {
      if (error instanceof KeyUnavailableError) throw new VaultCryptoError('key_unavailable', error.message);
      throw error;
    }
  }
}

function associatedData(merchantId: string, token: string): Buffer {
  return Buffer.from(`${merchantId}\u0000${token}`, 'utf8');
}

/** Its own label: a held code's associated data can never equal a card record's (`merchant NUL token`). */
function securityCodeAssociatedData(merchantId: string, token: string, paymentId: string): Buffer {
  return Buffer.from(`dirigen/vault/security-code/v1\u0000${merchantId}\u0000${token}\u0000${paymentId}`, 'utf8');
}
