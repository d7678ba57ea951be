import cardValidator from 'card-validator';

/** Raw card data as a merchant sends it. Exists only in memory on its way into the vault. */
export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** The card facts that may leave the vault: never the number, never the CVC. */
export interface CardFacts {
  brand: string;
  last4: string;
  bin: string;
  expMonth: number;
  expYear: number;
}

export type CardValidationCode =
  | 'invalid_number'
  | 'invalid_expiry_month'
  | 'invalid_expiry_year'
  | 'expired_card'
  | 'invalid_cvc';

export interface CardValidationFailure {
  code: CardValidationCode;
  /** The request field at fault, relative to `payment_method.card`. */
  field: 'number' | 'exp_month' | 'exp_year' | 'cvc';
  message: string;
}

export type CardValidationResult = { ok: true; facts: CardFacts } | { ok: false; failure: CardValidationFailure };

const binLength = 6;

/**
 * Validates a card the way a PSP would before authorizing: Luhn and length for its brand
 * (brand detection by Braintree's maintained `card-validator`), expiry not in the past at
 * `now`, CVC length by brand. Messages never echo the number.
 */
export function validateCard(card: CardInput, now: Date): CardValidationResult {
  const digits = card.number.replace(/[\s-]/g, '');
  const numberCheck = /^\d{12,19}$/.test(digits) ? cardValidator.number(digits) : undefined;
  if (!numberCheck?.isValid || !numberCheck.card) {
    return fail('invalid_number', 'number', 'The card number is not a valid card number.');
  }
  if (!Number.isInteger(card.expMonth) || card.expMonth < 1 || card.expMonth > 12) {
    return fail('invalid_expiry_month', 'exp_month', "The card's expiration month is invalid.");
  }
  const currentYear = now.getUTCFullYear();
  if (!Number.isInteger(card.expYear) || card.expYear < currentYear - 50 || card.expYear > currentYear + 50) {
    return fail('invalid_expiry_year', 'exp_year', "The card's expiration year is invalid.");
  }
  // A card is valid through the last day of its expiry month.
  const expiredBefore = Date.UTC(card.expYear, card.expMonth, 1);
  if (now.getTime() >= expiredBefore) {
    return fail('expired_card', 'exp_year', 'The card has expired.');
  }
  const expectedCvcLength = numberCheck.card.code.size;
  if (!new RegExp(`^\\d{${expectedCvcLength}}$`).test(card.cvc)) {
    return fail('invalid_cvc', 'cvc', `The card's security code must be ${expectedCvcLength} digits.`);
  }
  return {
    ok: true,
    facts: {
      brand: numberCheck.card.type,
      last4: digits.slice(-4),
      bin: digits.slice(0, binLength),
      expMonth: card.expMonth,
      expYear: card.expYear,
    },
  };
}

/**
 * Checks a security code given later for a saved card (a payment with a token): its length is the
 * one the card's brand requires, as when the card was first validated. An unknown brand is refused.
 */
export function validateSecurityCode(brand: string, cvc: string): { ok: true } | { ok: false; failure: CardValidationFailure } {
  const expectedLength = cardValidator.creditCardType.getTypeInfo(brand)?.code.size;
  if (expectedLength === undefined) return { ok: false, failure: { code: 'invalid_cvc', field: 'cvc', message: "The card's security code cannot be checked for this card brand." } };
  if (!new RegExp(`^\\d{${expectedLength}}$`).test(cvc)) {
    return { ok: false, failure: { code: 'invalid_cvc', field: 'cvc', message: `The card's security code must be ${expectedLength} digits.` } };
  }
  return { ok: true };
}

/** Digits only: the canonical form the vault encrypts and fingerprints. */
export function normalizeCardNumber(number: string): string {
  return number.replace(/[\s-]/g, '');
}

function fail(code: CardValidationCode, field: CardValidationFailure['field'], message: string): CardValidationResult {
  return { ok: false, failure: { code, field, message } };
}
