import cardValidator from 'card-validator';
import { isValidPhoneNumber } from 'libphonenumber-js/max';

/**
 * Finds card numbers typed into free text (a description, a metadata value, a key), so they can
 * be refused before they are stored or published as text (PCI DSS: card data lives only in the vault).
 *
 * The rule. A card number is a run of 13 to 19 digits that (1) passes the Luhn check, and (2) starts
 * with an issuer prefix (IIN) of a card brand and has a length that brand issues — the brand table
 * of Braintree's maintained `credit-card-type`, read through `card-validator` as `validateCard`
 * reads it, so the guard refuses exactly the numbers the card field would take for a card (UnionPay
 * included, but only when it passes Luhn: without the check every 62… run would be refused). It is
 * written unbroken or in groups joined by one space or one dash ("4242 4242 4242 4242",
 * "4242-4242-4242-4242"), the way people type them. Within a run of grouped digits every sequence of
 * whole groups is a candidate, so a card followed by its expiry or CVC ("4242 4242 4242 4242 12 30")
 * is still found; an unbroken run of 20+ digits is not a card number (no card is that long).
 *
 * Why the brand table. Luhn alone passes one random digit run in ten: the old rule (Luhn and length)
 * refused one in ten millisecond timestamps, order numbers and Idempotency-Keys. A card number also
 * has an issuer prefix and a length that fit a brand: epoch timestamps (13, 16, 19 digits starting
 * with 1 or 2), date-prefixed order numbers (20…), zero-padded ids and local phone numbers (0…)
 * do not, so the table alone spares them without a rule of their own.
 *
 * Narrow exclusions by structure, none of which matches a card number written as people write one:
 * - digits glued to a letter or an underscore are part of an identifier (a hex digest, a ULID, a
 *   reference like `ORD1234567890123`, a migration name), not a typed card number; a UUID
 *   (8-4-4-4-12 hex digits) is one whole, even when its first groups happen to be all digits;
 * - digits after a `+` are a phone number in international notation, and so is a run of at most
 *   15 digits (E.164's maximum) that is a valid number with a `+` put in front (by libphonenumber's
 *   metadata): Indonesian mobiles are written `62812…` as often as `+62812…`, and 628… is a Maestro
 *   and UnionPay prefix. It spares no card of the lengths in use (15-digit Amex, 16 to 19 digits);
 *   it does spare about 1 in 130 of the rare 13- and 14-digit Maestro, UnionPay and Diners numbers;
 * - digits glued by a `.` to other digits are part of a decimal number or version;
 * - a card typed in groups starts with a group of 4 to 6 digits, so a longer group starts no card
 *   with the groups after it: an Amazon order number (`114-6188215-2517220`) is not a card whose
 *   last 14 digits pass Luhn. (A card typed as two groups of 8 is missed; no card is printed so.)
 * One correction to the table: JCB's 1800 and 2131 ranges were 15-digit and are obsolete, and the
 * table lends them JCB's 16–19 lengths (see `obsoleteJcbPrefixes`).
 *
 * What remains, measured on the identifier corpus (`testing/identifier-corpus.ts`, spec beside):
 * a bare number whose prefix and length fit a brand and that passes Luhn is a card number as far as
 * anyone can tell from the digits. Shopify's 13-digit ids that start 50 or 56–69 (Maestro, which
 * issues 12 to 19 digits: about 3 in 100 of ids made 2020–2026), snowflake ids whose 17–19 digits
 * start like a Visa, Maestro, UnionPay, JCB, Diners or Mir number (about 1 in 80), order numbers
 * that start with a yymmdd date of the years 22–27 or 30–39, and microsecond timestamps of autumn
 * 2039 (Mir, 2200–2204) are refused one time in ten. The merchant is told which field, never the
 * value, and can add a letter to it.
 */

export const cardNumberDigitsMin = 13;
export const cardNumberDigitsMax = 19;
/** E.164: a phone number has at most 15 digits, country code included. */
const phoneNumberDigitsMax = 15;
/** The longest first group of a card number typed in groups (4 for most brands, 6 for a 6-13 UnionPay grouping). */
const typedFirstGroupDigitsMax = 6;
/**
 * JCB's old 15-digit ranges, obsolete (its range is 3528–3589, 16 to 19 digits); the table gives them
 * JCB's 16–19 lengths, which would make every microsecond timestamp of ten days in January 2027 a card.
 */
const obsoleteJcbPrefixes = ['1800', '2131'];

/** Where a card number was found: `text.slice(start, end)` is it, separators included. Never its digits. */
export interface CardNumberFinding {
  start: number;
  end: number;
  digitCount: number;
}

/** Digit groups joined by exactly one space or dash; a double space or any other character ends the run. */
const groupedDigitRun = /\d+(?:[ -]\d+)*/g;
const identifierCharacter = /[\p{L}_]/u;

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** The card numbers in `text`, left to right, not overlapping. */
export function findCardNumbers(text: string): CardNumberFinding[] {
  // UUIDs masked in place (same length, so positions still point into `text`).
  const scanned = text.replace(uuid, (match) => '_'.repeat(match.length));
  const findings: CardNumberFinding[] = [];
  for (const run of scanned.matchAll(groupedDigitRun)) {
    findings.push(...cardNumbersInRun(scanned, run.index, run[0]));
  }
  return findings;
}

/**
 * True when `text` holds a card number, in ASCII digits or in digits that Unicode compatibility
 * normalization (NFKC) turns into ASCII ones, such as full-width digits typed on a CJK keyboard.
 */
export function containsCardNumber(text: string): boolean {
  if (findCardNumbers(text).length > 0) return true;
  // Printable ASCII is its own normal form: skip the normalization on the common path.
  if (!/[^\x20-\x7e\t\n\r]/.test(text)) return false;
  const normalized = text.normalize('NFKC');
  return normalized !== text && findCardNumbers(normalized).length > 0;
}

interface DigitGroup {
  start: number;
  digits: string;
  /** Joined to its surroundings in a way that makes it part of something else (see the rule). */
  excluded: boolean;
}

function cardNumbersInRun(text: string, runStart: number, run: string): CardNumberFinding[] {
  const groups = digitGroups(runStart, run);
  groups[0]!.excluded ||= joinedBefore(text, runStart);
  groups[groups.length - 1]!.excluded ||= joinedAfter(text, runStart + run.length);
  const findings: CardNumberFinding[] = [];
  let first = 0;
  while (first < groups.length) {
    const last = lastGroupOfCardNumber(groups, first);
    if (last === undefined) {
      first++;
      continue;
    }
    const end = groups[last]!.start + groups[last]!.digits.length;
    findings.push({ start: groups[first]!.start, end, digitCount: groups.slice(first, last + 1).reduce((sum, group) => sum + group.digits.length, 0) });
    first = last + 1;
  }
  return findings;
}

/** The last group of the shortest card number that starts with group `first`, if any does. */
function lastGroupOfCardNumber(groups: DigitGroup[], first: number): number | undefined {
  let digits = '';
  for (let last = first; last < groups.length && !groups[last]!.excluded; last++) {
    // A card typed in groups starts with a group of 4 to 6 digits (4-4-4-4, 4-6-5, 4-4-4-7, 6-13).
    if (last > first && groups[first]!.digits.length > typedFirstGroupDigitsMax) return undefined;
    digits += groups[last]!.digits;
    if (digits.length > cardNumberDigitsMax) return undefined;
    if (digits.length >= cardNumberDigitsMin && couldBeCardNumber(digits)) return last;
  }
  return undefined;
}

function couldBeCardNumber(digits: string): boolean {
  // Luhn first: it is cheap and turns away nine runs in ten before the brand table is consulted.
  if (!luhnValid(digits)) return false;
  const brand = cardValidator.number(digits, { luhnValidateUnionPay: true });
  if (!brand.isValid) return false;
  if (brand.card?.type === 'jcb' && obsoleteJcbPrefixes.some((prefix) => digits.startsWith(prefix))) return false;
  return !(digits.length <= phoneNumberDigitsMax && isValidPhoneNumber(`+${digits}`));
}

function digitGroups(runStart: number, run: string): DigitGroup[] {
  const groups: DigitGroup[] = [];
  for (const group of run.matchAll(/\d+/g)) groups.push({ start: runStart + group.index, digits: group[0], excluded: false });
  return groups;
}

function joinedBefore(text: string, start: number): boolean {
  const previous = text[start - 1] ?? '';
  if (identifierCharacter.test(previous) || previous === '+') return true;
  return previous === '.' && /\d/.test(text[start - 2] ?? '');
}

function joinedAfter(text: string, end: number): boolean {
  const next = text[end] ?? '';
  if (identifierCharacter.test(next)) return true;
  return next === '.' && /\d/.test(text[end + 1] ?? '');
}

/** The Luhn (mod 10) check digit test every card number passes. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = digits.charCodeAt(digits.length - 1 - index) - 48;
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
