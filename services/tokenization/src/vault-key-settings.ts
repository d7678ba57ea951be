/**
 * How long a vault trusts its cached "current card key version" of a merchant. A rotation's new
 * version is used for new records within this long; the key tool waits it out before re-encrypting.
 */
export const currentKeyVersionTtlMs = 5_000;
