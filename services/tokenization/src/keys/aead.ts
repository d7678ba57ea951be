import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const keyBytes = 32;
const nonceBytes = 12;
const authTagBytes = 16;

/** One AES-256-GCM box: a fresh 96-bit nonce per seal, the associated data bound in but not stored. */
export interface SealedBox {
  nonce: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

export class KeyMaterialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMaterialError';
  }
}

export function sealBox(key: Buffer, associatedData: Buffer, plaintext: Buffer): SealedBox {
  assertKey(key);
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: authTagBytes });
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, authTag: cipher.getAuthTag() };
}

/** Throws when the box was altered, or sealed under another key or associated data: callers fail closed. */
export function openBox(key: Buffer, associatedData: Buffer, box: SealedBox): Buffer {
  assertKey(key);
  const decipher = createDecipheriv('aes-256-gcm', key, box.nonce, { authTagLength: authTagBytes });
  decipher.setAAD(associatedData);
  decipher.setAuthTag(box.authTag);
  return Buffer.concat([decipher.update(box.ciphertext), decipher.final()]);
}

/** A box as one byte string (nonce ‖ tag ‖ ciphertext), for wrapped keys kept in one column. */
export function packBox(box: SealedBox): Buffer {
  return Buffer.concat([box.nonce, box.authTag, box.ciphertext]);
}

export function unpackBox(packed: Buffer): SealedBox {
  if (packed.length <= nonceBytes + authTagBytes) throw new KeyMaterialError('a wrapped key is truncated');
  return { nonce: packed.subarray(0, nonceBytes), authTag: packed.subarray(nonceBytes, nonceBytes + authTagBytes), ciphertext: packed.subarray(nonceBytes + authTagBytes) };
}

function assertKey(key: Buffer): void {
  if (key.length !== keyBytes) throw new KeyMaterialError(`invariant: AES-256 keys are ${keyBytes} bytes, got ${key.length}`);
}
