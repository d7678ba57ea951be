import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { DataKeys } from './keys/data-keys';
import { InMemoryKeyStore } from './keys/in-memory-key-store';
import { VaultCrypto, VaultCryptoError } from './vault-crypto';

const card = { number: '4242424242424242', expMonth: 12, expYear: 2030 };
const options = { currentVersionTtlMs: 0, cachedKeysMax: 100, kekReloadIntervalMs: 0 };

async function vaultCrypto(store = new InMemoryKeyStore(), keks: Map<number, Buffer> = new Map([[1, randomBytes(32)]])) {
  const keys = new DataKeys(store, async () => keks, options);
  await keys.start();
  return { crypto: new VaultCrypto(keys), keys, store };
}

describe('VaultCrypto', () => {
  let crypto: VaultCrypto;
  let keys: DataKeys;
  let store: InMemoryKeyStore;
  let keks: Map<number, Buffer>;
  beforeEach(async () => {
    keks = new Map([[1, randomBytes(32)]]);
    ({ crypto, keys, store } = await vaultCrypto(new InMemoryKeyStore(), keks));
  });

  it('opens what it sealed, and the ciphertext does not contain the number', async () => {
    const sealed = await crypto.seal('mer_a', 'tok_1', card);
    expect(sealed.ciphertext.toString('latin1')).not.toContain('4242');
    expect(await crypto.open('mer_a', 'tok_1', sealed)).toEqual(card);
  });

  it('stores each merchant data key only wrapped: the stored bytes are not the key', async () => {
    const sealed = await crypto.seal('mer_a', 'tok_1', card);
    const row = await store.dataKey('mer_a', 'card', sealed.keyVersion);
    expect(row?.wrapped?.includes(await keys.cardKey('mer_a', 1))).toBe(false);
    expect(row?.kekVersion).toBe(1);
  });

  it('uses a fresh nonce for every record', async () => {
    expect((await crypto.seal('mer_a', 'tok_1', card)).nonce.equals((await crypto.seal('mer_a', 'tok_1', card)).nonce)).toBe(false);
  });

  it('fails closed on a flipped ciphertext bit', async () => {
    const sealed = await crypto.seal('mer_a', 'tok_1', card);
    sealed.ciphertext[0]! ^= 1;
    await expect(crypto.open('mer_a', 'tok_1', sealed)).rejects.toMatchObject({ reason: 'integrity' });
  });

  it("refuses to open merchant A's record for merchant B, or under another token", async () => {
    const sealed = await crypto.seal('mer_a', 'tok_1', card);
    await crypto.seal('mer_b', 'tok_2', card);
    await expect(crypto.open('mer_b', 'tok_1', sealed)).rejects.toThrow(VaultCryptoError);
    await expect(crypto.open('mer_a', 'tok_2', sealed)).rejects.toMatchObject({ reason: 'integrity' });
  });

  it('fails closed with key_unavailable on a key version that does not exist', async () => {
    const sealed = await crypto.seal('mer_a', 'tok_1', card);
    await expect(crypto.open('mer_a', 'tok_1', { ...sealed, keyVersion: 9 })).rejects.toMatchObject({ reason: 'key_unavailable' });
  });

  it('refuses to start with another key under a registered KEK version (wrong or too few shares)', async () => {
    await crypto.seal('mer_a', 'tok_1', card);
    await expect(vaultCrypto(store, new Map([[1, randomBytes(32)]]))).rejects.toThrow(/does not match its registered check value/);
  });

  it('fails closed when a wrapped data key was altered', async () => {
    const sealed = await crypto.seal('mer_a', 'tok_1', card);
    store.dataKeyRows.get('mer_a/card/1')!.wrapped![20]! ^= 1;
    const { crypto: restarted } = await vaultCrypto(store, keks);
    await expect(restarted.open('mer_a', 'tok_1', sealed)).rejects.toMatchObject({ reason: 'key_unavailable' });
  });

  it('gives a stable keyed fingerprint per merchant, different across merchants and keys', async () => {
    expect(await crypto.fingerprint('mer_a', card.number)).toBe(await crypto.fingerprint('mer_a', card.number));
    expect(await crypto.fingerprint('mer_a', card.number)).not.toBe(await crypto.fingerprint('mer_b', card.number));
    const { crypto: otherVault } = await vaultCrypto();
    expect(await otherVault.fingerprint('mer_a', card.number)).not.toBe(await crypto.fingerprint('mer_a', card.number));
  });

  it('keeps opening records of an older card key version after a rotation, and seals new ones under the new version', async () => {
    const before = await crypto.seal('mer_a', 'tok_1', card);
    await keys.addCardKeyVersion('mer_a', 1);
    const after = await crypto.seal('mer_a', 'tok_2', card);
    expect([before.keyVersion, after.keyVersion]).toEqual([1, 2]);
    expect(await crypto.open('mer_a', 'tok_1', before)).toEqual(card);
    expect(await crypto.open('mer_a', 'tok_2', after)).toEqual(card);
    expect(await keys.addCardKeyVersion('mer_a', 1)).toBeNull();
  });

  it('seals a held security code for one merchant, token and payment: it opens for them only, never as a card record', async () => {
    const sealed = await crypto.sealSecurityCode('mer_a', 'tok_1', 'pay_1', '123');
    await crypto.sealSecurityCode('mer_b', 'tok_2', 'pay_2', '123');
    expect(sealed.ciphertext.equals(Buffer.from('123'))).toBe(false);
    expect(await crypto.openSecurityCode('mer_a', 'tok_1', 'pay_1', sealed)).toBe('123');
    for (const [merchantId, token, paymentId] of [['mer_b', 'tok_1', 'pay_1'], ['mer_a', 'tok_2', 'pay_1'], ['mer_a', 'tok_1', 'pay_2'], ['mer_a', 'tok_1', '']]) {
      await expect(crypto.openSecurityCode(merchantId!, token!, paymentId!, sealed)).rejects.toMatchObject({ reason: 'integrity' });
    }
    await expect(crypto.open('mer_a', 'tok_1', sealed)).rejects.toMatchObject({ reason: 'integrity' });
  });

  it('re-seals a held security code under a newer card key version, which then opens it', async () => {
    const sealed = await crypto.sealSecurityCode('mer_a', 'tok_1', 'pay_1', '4321');
    await keys.addCardKeyVersion('mer_a', 1);
    const resealed = await crypto.resealSecurityCode('mer_a', 'tok_1', 'pay_1', sealed, 2);
    expect([sealed.keyVersion, resealed.keyVersion]).toEqual([1, 2]);
    expect(await crypto.openSecurityCode('mer_a', 'tok_1', 'pay_1', resealed)).toBe('4321');
  });
});
