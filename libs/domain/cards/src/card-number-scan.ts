/**
 * Finds card numbers typed into free text (a description, a metadata value, a header), so they can
 * be refused before they are stored or published as text (PCI DSS: card data lives only in the vault).
 *
 * The rule. A card number is a Luhn-valid sequence of 13 to 19 digits, written either unbroken or
 * in groups joined by one space or one dash ("4242 4242 4242 4242", "4242-4242-4242-4242"), the
 * way people type them. Within a run of grouped digits, every sequence of whole groups is a
 * candidate, so a card followed by its expiry or CVC ("4242 4242 4242 4242 12 30") is still found;
 * an unbroken run of 20+ digits is not a card number (no card is that long).
 *
 * False positives. A random run of the right length passes Luhn one time in ten, so the length
 * window and Luhn alone would refuse one in ten millisecond timestamps, international phone
 * numbers and hex digests that merchants put in metadata. Five narrow exclusions, none of which
 * matches a real card number written as people write one, keep those out:
 * - digits glued to a letter or an underscore are part of an identifier (a hex digest, a UUID, a
 *   reference like `ORD1234567890123`), not a typed card number; a UUID (8-4-4-4-12 hex digits) is
 *   one whole, even when its first groups happen to be all digits (`12345678-1234-5678-b…`): UUIDs
 *   are the usual Idempotency-Key, and one in a few thousand would otherwise be refused;
 * - digits after a `+` are a phone number in international notation;
 * - digits glued by a `.` to other digits are part of a decimal number or version;
 * - no card number starts with 0 (ISO/IEC 7812 issues none), which also spares placeholders
 *   like `0000 0000 0000 0000`, zero-padded ids and local phone numbers;
 * - the only card numbers starting with 1 are 15-digit UATP cards, which spares epoch timestamps
 *   in milliseconds (13 digits), microseconds (16) and nanoseconds (19).
 * What remains is rare: an order or invoice number of 13–19 digits is refused one time in ten;
 * the merchant is told which field, and can add a letter to it.
 */

export const cardNumberDigitsMin = 13;
export const cardNumberDigitsMax = 19;
/** UATP: the one card scheme whose numbers start with 1. */
const uatpDigits = 15;

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
    digits += groups[last]!.digits;
    if (digits.length > cardNumberDigitsMax) return undefined;
    if (digits.length >= cardNumberDigitsMin && couldBeCardNumber(digits)) return last;
  }
  return undefined;
}

function couldBeCardNumber(digits: string): boolean {
  if (digits.startsWith('0')) return false;
  if (digits.startsWith('1') && digits.length !== uatpDigits) return false;
  return luhnValid(digits);
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
