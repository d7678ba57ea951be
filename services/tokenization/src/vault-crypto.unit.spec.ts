import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VaultCrypto, VaultCryptoError } from './vault-crypto';

const crypto = new VaultCrypto(new Map([[1, randomBytes(32)]]), 1);
const card = { number: '4242424242424242', expMonth: 12, expYear: 2030 };

describe('VaultCrypto', () => {
  it('opens what it sealed, and the ciphertext does not contain the number', () => {
    const sealed = crypto.seal('mer_a', 'tok_1', card);
    expect(sealed.ciphertext.toString('latin1')).not.toContain('4242');
    expect(crypto.open('mer_a', 'tok_1', sealed)).toEqual(card);
  });

  it('uses a fresh nonce for every record', () => {
    expect(crypto.seal('mer_a', 'tok_1', card).nonce.equals(crypto.seal('mer_a', 'tok_1', card).nonce)).toBe(false);
  });

  it('fails closed on a flipped ciphertext bit', () => {
    const sealed = crypto.seal('mer_a', 'tok_1', card);
    sealed.ciphertext[0]! ^= 1;
    expect(() => crypto.open('mer_a', 'tok_1', sealed)).toThrow(VaultCryptoError);
  });

  it("refuses to open merchant A's record for merchant B", () => {
    expect(() => crypto.open('mer_b', 'tok_1', crypto.seal('mer_a', 'tok_1', card))).toThrow(VaultCryptoError);
  });

  it('refuses an unknown key version', () => {
    expect(() => crypto.open('mer_a', 'tok_1', { ...crypto.seal('mer_a', 'tok_1', card), keyVersion: 9 })).toThrow(/unknown master key version/);
  });

  it('gives a stable keyed fingerprint per merchant, different across merchants', () => {
    expect(crypto.fingerprint('mer_a', card.number)).toBe(crypto.fingerprint('mer_a', card.number));
    expect(crypto.fingerprint('mer_a', card.number)).not.toBe(crypto.fingerprint('mer_b', card.number));
    const otherKey = new VaultCrypto(new Map([[1, randomBytes(32)]]), 1);
    expect(otherKey.fingerprint('mer_a', card.number)).not.toBe(crypto.fingerprint('mer_a', card.number));
  });
});
