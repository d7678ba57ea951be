import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { containsCardNumber, findCardNumbers, luhnValid } from './card-number-scan';

/** `partial` and the one digit that makes it pass Luhn. */
function withCheckDigit(partial: string): string {
  return [...'0123456789'].map((digit) => `${partial}${digit}`).find(luhnValid)!;
}

/** What the scan found, as the text it covers: only ever called on test data. */
function found(text: string): string[] {
  return findCardNumbers(text).map((finding) => text.slice(finding.start, finding.end));
}

describe('findCardNumbers', () => {
  describe('finds a card number as people type it', () => {
    it.each([
      ['unbroken', '4242424242424242'],
      ['in groups of four with spaces', '4242 4242 4242 4242'],
      ['in groups of four with dashes', '4242-4242-4242-4242'],
      ['with mixed separators', '4242 4242-4242 4242'],
      ['in the Amex 4-6-5 grouping', '3782 822463 10005'],
      ['a 14-digit Diners Club', '36227206271667'],
      ['a 19-digit Visa', '4222 2222 2222 2222 224'],
    ])('given %s, when scanned, then it is found', (_shape, text) => {
      expect(luhnValid(text.replace(/[ -]/g, ''))).toBe(true);
      expect(found(text)).toEqual([text]);
    });

    it('given a card number inside a sentence, when scanned, then only the number is found', () => {
      const text = 'please charge my card 4242 4242 4242 4242, thanks!';
      expect(found(text)).toEqual(['4242 4242 4242 4242']);
    });

    it('given a card followed by its expiry and CVC in one run of groups, when scanned, then the card is found', () => {
      expect(found('4242 4242 4242 4242 12 30 123')).toEqual(['4242 4242 4242 4242']);
    });

    it('given a card preceded by another short number in the same run, when scanned, then the card is found', () => {
      expect(found('0 4242 4242 4242 4242')).toEqual(['4242 4242 4242 4242']);
    });

    it('given two card numbers, when scanned, then both are found in order', () => {
      expect(found('4242424242424242 or 5555-5555-5555-4444')).toEqual(['4242424242424242', '5555-5555-5555-4444']);
    });

    it('given a card number ending a sentence or in punctuation, when scanned, then it is found', () => {
      expect(found('card: 4242424242424242.')).toEqual(['4242424242424242']);
      expect(found('(4242424242424242)')).toEqual(['4242424242424242']);
      expect(found('"-4242424242424242"')).toEqual(['4242424242424242']);
    });

    it('given full-width digits, when checked, then NFKC normalization finds the card', () => {
      expect(containsCardNumber('４２４２４２４２４２４２４２４２')).toBe(true);
    });
  });

  describe('leaves alone what is not a card number', () => {
    it('given a Luhn-valid 12-digit run, when scanned, then it is too short', () => {
      expect(luhnValid('424242424242')).toBe(true);
      expect(found('order 424242424242')).toEqual([]);
    });

    it('given an unbroken Luhn-valid 20-digit run, when scanned, then it is too long, even with a card inside', () => {
      expect(luhnValid('42424242424242424242')).toBe(true);
      expect(found('ref 42424242424242424242')).toEqual([]);
    });

    it('given 13–19 digit runs that fail Luhn, when scanned, then none is found', () => {
      for (const text of ['4242424242424241', '4242 4242 4242 4241', '5555555555554445', '4222222222223', '4242424242424242421']) {
        expect(luhnValid(text.replace(/ /g, ''))).toBe(false);
        expect(found(text)).toEqual([]);
      }
    });

    it('given groups separated by two spaces, a slash or a comma, when scanned, then they are not joined into one number', () => {
      expect(found('4242  4242  4242  4242')).toEqual([]);
      expect(found('4242/4242/4242/4242')).toEqual([]);
      expect(found('4242,4242,4242,4242')).toEqual([]);
    });

    it('given digits glued to letters (a hex digest, a UUID, a reference code), when scanned, then they are an identifier', () => {
      expect(found('ORD4242424242424242')).toEqual([]);
      expect(found('4242424242424242x')).toEqual([]);
      expect(found('sha256 9f86d081884c7d659a2feaa0c55ad0154242424242424242b0f00a08')).toEqual([]);
      expect(found('user_4242424242424242')).toEqual([]);
    });

    it('given a UUID whose last part is all digits, when scanned, then the letter-glued group is not counted', () => {
      // "a456-" + 12 digits: without the letter rule, 456 plus the 12 digits would be a 15-digit candidate.
      expect(luhnValid('456426614174007')).toBe(true);
      expect(found('123e4567-e89b-12d3-a456-426614174007')).toEqual([]);
    });

    it('given UUIDs whose leading groups are all digits and Luhn-valid, when scanned, then the UUID is one identifier', () => {
      // 4242-424242424242 alone is a card in dash-joined groups; as the end of a UUID it is part of an id.
      expect(found('4242-424242424242')).toEqual(['4242-424242424242']);
      expect(findCardNumbers('12345678-1234-4abc-4242-424242424242')).toEqual([]);
      expect(findCardNumbers('key 42424242-4242-4242-4242-424242424242 done')).toEqual([]);
    });

    it('given many random UUIDs (the usual Idempotency-Key), when checked, then none is taken for a card', () => {
      const flagged = Array.from({ length: 50_000 }, () => randomUUID()).filter((key) => containsCardNumber(key));
      expect(flagged).toEqual([]);
    });

    it('given an international phone number, when scanned, then the + marks it as one', () => {
      expect(luhnValid('6281234567899')).toBe(true);
      expect(found('+62 812-3456-7899')).toEqual([]);
      expect(found('+6281234567899')).toEqual([]);
    });

    it('given a decimal number with many digits, when scanned, then it is a number, not a card', () => {
      expect(found('0.4242424242424242')).toEqual([]);
      expect(found('4242424242424242.5')).toEqual([]);
    });

    it('given a Luhn-valid run starting with 0 (placeholder, zero-padded id, local phone), when scanned, then no brand starts with 0', () => {
      expect(found('0000 0000 0000 0000')).toEqual([]);
      expect(luhnValid('0004242424242424242')).toBe(true);
      expect(found('0004242424242424242')).toEqual([]);
    });

    it('given Luhn-valid epoch timestamps in ms, µs and ns, when scanned, then no brand issues their prefix and length', () => {
      for (const timestamp of ['1764201600004', '1764201600000002', '1764201600000000004', withCheckDigit('205122240000')]) {
        expect(luhnValid(timestamp)).toBe(true);
        expect(found(`created ${timestamp}`)).toEqual([]);
      }
    });

    it('given a Luhn-valid number whose prefix fits a brand but not its length, when scanned, then it is no card', () => {
      // 4… is Visa, which issues 16, 18 and 19 digits; 13-digit Visas are long gone (and validateCard refuses them too).
      expect(luhnValid('4222222222222')).toBe(true);
      expect(found('4222222222222')).toEqual([]);
      // 5555… is Mastercard, 16 digits only.
      expect(found(withCheckDigit('55555555555544'))).toEqual([]);
    });

    it('given a microsecond timestamp of January 2027 (1800…), when scanned, then JCB’s obsolete 1800 range does not make it a card', () => {
      expect(found(withCheckDigit('180000000000000'))).toEqual([]);
    });

    it('given an Indonesian mobile number written without its +, when scanned, then it is a phone number', () => {
      expect(luhnValid('6281234567899')).toBe(true);
      expect(found('wa.me/6281234567899')).toEqual([]);
      expect(found(withCheckDigit('6281234567890'))).toEqual([]);
    });

    it('given an Amazon order number, when scanned, then its 7-digit groups start no card', () => {
      // 6188215 2517220 is a Luhn-valid 14-digit Maestro-shaped run; a typed card starts with 4 to 6 digits.
      expect(luhnValid('61882152517220')).toBe(true);
      expect(found('114-6188215-2517220')).toEqual([]);
      expect(found('61882152517220')).toEqual(['61882152517220']);
    });

    it('given ordinary free text, a date and an email address, when scanned, then nothing is found', () => {
      expect(found('Order #12345 on 2026-11-27 10:30, call 0812-3456-7890')).toEqual([]);
      expect(containsCardNumber('jane.doe+orders@example.com')).toBe(false);
      expect(containsCardNumber('')).toBe(false);
    });
  });

  it('given a card number in an email address local part, when checked, then it is found', () => {
    expect(containsCardNumber('4242424242424242@example.com')).toBe(true);
  });
});
