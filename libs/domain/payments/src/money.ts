import currencyCodes from 'currency-codes';

/**
 * Money is integer minor units plus an ISO 4217 code (TigerBeetle's rule: never a float).
 * `amountMinor` stays a JS number: the largest accepted amount is far below 2^53, asserted below.
 */
export interface Money {
  amountMinor: number;
  currency: string;
}

/** The largest amount a single payment may carry, in minor units (999,999,999.99 in a 2-decimal currency). */
export const amountMinorMax = 99_999_999_999;

/** ISO 4217 codes that are not currencies a card can be charged in (funds, metals, testing). */
const nonChargeableCodes = new Set(['XXX', 'XTS', 'XAU', 'XAG', 'XPD', 'XPT', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XSU', 'XUA']);

export function isChargeableCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && !nonChargeableCodes.has(code) && currencyCodes.code(code) !== undefined;
}

export function isValidAmountMinor(amountMinor: unknown): amountMinor is number {
  return typeof amountMinor === 'number' && Number.isSafeInteger(amountMinor) && amountMinor > 0 && amountMinor <= amountMinorMax;
}

export function assertMoney(money: Money): void {
  if (!Number.isSafeInteger(money.amountMinor) || money.amountMinor < 0) {
    throw new Error(`invariant: amountMinor must be a non-negative safe integer, got ${money.amountMinor}`);
  }
  if (!/^[A-Z]{3}$/.test(money.currency)) throw new Error(`invariant: currency must be ISO 4217, got ${money.currency}`);
}
