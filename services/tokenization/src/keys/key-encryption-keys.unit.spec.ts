import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KekRing, kekSourcesFromEnvironment, readKeyEncryptionKeys, splitKeyEncryptionKey } from './key-encryption-keys';

async function sharesDirWith(key: Buffer, version: number, shares: number, threshold: number, keep: number): Promise<string> {
  const directory = mkdtempSync(join(tmpdir(), 'kek-shares-'));
  const parts = await splitKeyEncryptionKey(key, shares, threshold);
  for (const part of parts.slice(0, keep)) writeFileSync(join(directory, part.fileName(version)), part.share.toString('base64'));
  return directory;
}

describe('key-encryption keys', () => {
  it('assembles a KEK from any 2 of 3 custodian shares', async () => {
    const key = randomBytes(32);
    const keys = await readKeyEncryptionKeys({ sharesDir: await sharesDirWith(key, 3, 3, 2, 2), sharesMin: 2 });
    expect(keys.get(3)?.equals(key)).toBe(true);
  });

  it('refuses a version for which fewer shares than the minimum are present', async () => {
    await expect(readKeyEncryptionKeys({ sharesDir: await sharesDirWith(randomBytes(32), 1, 3, 2, 1), sharesMin: 2 })).rejects.toThrow(/at least 2 custodians/);
  });

  it('reads local-mode versions from a file, and refuses a version given by two sources', async () => {
    const key = randomBytes(32);
    const file = join(mkdtempSync(join(tmpdir(), 'kek-file-')), 'kek.json');
    writeFileSync(file, JSON.stringify({ versions: { 1: key.toString('base64') } }));
    expect((await readKeyEncryptionKeys({ file, sharesMin: 2 })).get(1)?.equals(key)).toBe(true);
    await expect(readKeyEncryptionKeys({ file, sharesDir: await sharesDirWith(randomBytes(32), 1, 2, 2, 2), sharesMin: 2 })).rejects.toThrow(/more than one source/);
  });

  it('insists on a source and on split knowledge', () => {
    expect(() => kekSourcesFromEnvironment({})).toThrow(/no key-encryption key source/);
    expect(() => kekSourcesFromEnvironment({ VAULT_KEK_SHARES_DIR: '/x', VAULT_KEK_SHARES_MIN: '1' })).toThrow(/2 or more/);
  });

  it('wraps under the newest version and unwraps under any held one, bound to its context', () => {
    const ring = new KekRing(new Map([[1, randomBytes(32)], [2, randomBytes(32)]]));
    const dataKey = randomBytes(32);
    const wrapped = ring.wrap(dataKey, Buffer.from('mer_a/card/1'));
    expect(wrapped.kekVersion).toBe(2);
    expect(ring.unwrap(2, wrapped.wrapped, Buffer.from('mer_a/card/1')).equals(dataKey)).toBe(true);
    expect(() => ring.unwrap(2, wrapped.wrapped, Buffer.from('mer_b/card/1'))).toThrow();
    expect(() => ring.without([2]).unwrap(2, wrapped.wrapped, Buffer.from('mer_a/card/1'))).toThrow(/not held/);
  });
});
