import type { SealedCard } from './vault-crypto';

/**
 * The rows of vault.held_security_codes (see CardVault for the lifecycle): each a security code
 * sealed under the merchant's card data key, for one payment or for the card's first use.
 */

/** The `payment_id` of the code given when the card was tokenized (HoldSecurityCode refuses an empty payment id). */
export const codeGivenAtTokenization = '';

/** Column order of every INSERT into vault.held_security_codes. */
export const heldSecurityCodeColumns = 'token, payment_id, merchant_id, data_key_version, nonce, ciphertext, auth_tag, expires_at';

/** A held code's sealed columns as a query selects them, under a prefix (`payment_code`, …); all null when none is held. */
export type SealedSecurityCodeColumns<Prefix extends string> = Record<`${Prefix}_version`, number | null> &
  Record<`${Prefix}_nonce` | `${Prefix}_ciphertext` | `${Prefix}_auth_tag`, Buffer | null>;

/** The select list for a held code joined as `alias`, its columns named `<prefix>_…`. */
export function sealedSecurityCodeSelect(alias: string, prefix: string): string {
  return `${alias}.data_key_version AS ${prefix}_version, ${alias}.nonce AS ${prefix}_nonce, ${alias}.ciphertext AS ${prefix}_ciphertext, ${alias}.auth_tag AS ${prefix}_auth_tag`;
}

/** The sealed code in a row's `<prefix>_…` columns; undefined when the join found none. */
export function sealedSecurityCodeOf<Prefix extends string>(row: SealedSecurityCodeColumns<Prefix>, prefix: Prefix): SealedCard | undefined {
  const columns = row as Record<string, number | Buffer | null>;
  const keyVersion = columns[`${prefix}_version`];
  const [nonce, ciphertext, authTag] = [columns[`${prefix}_nonce`], columns[`${prefix}_ciphertext`], columns[`${prefix}_auth_tag`]];
  if (typeof keyVersion !== 'number' || !Buffer.isBuffer(nonce) || !Buffer.isBuffer(ciphertext) || !Buffer.isBuffer(authTag)) return undefined;
  return { keyVersion, nonce, ciphertext, authTag };
}
