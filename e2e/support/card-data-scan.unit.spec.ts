import { describe, expect, it } from 'vitest';
import { containsCardNumber } from '@dirigen/cards';
import { falsePositiveTable, identifierCorpus, measureFalsePositives, seededRandom } from '../../libs/domain/cards/src/testing/identifier-corpus';
import { testCardNumbers, writtenForms } from '../../libs/domain/cards/src/testing/test-card-numbers';
import { CardDataScanner, couldBeCardNumber, describeFinding, luhnValid } from './card-data-scan';

/** The bar: at most 1 identifier in 10,000 reported as a card number. */
const falsePositiveRateMax = 1 / 10_000;
/**
 * Card-shaped identifiers pass Luhn one time in ten, and the oracle, broader than the guard, may
 * report every one that does: 1 in 10, plus three standard deviations of a 7,000-identifier sample.
 */
const cardShapedRateMax = 0.11;
const corpusSizeMin = 100_000;
const randomCardsScanned = 100_000;
const supersetCheckTimeoutMs = 60_000;

function findings(text: string, cardsSent: readonly string[] = []): string[] {
  const scanner = new CardDataScanner(cardsSent);
  scanner.scan({ source: 'unit', text });
  return scanner.findings.map(describeFinding);
}

describe('the card-data oracle on a corpus of realistic identifiers', () => {
  const corpus = identifierCorpus();
  const rates = measureFalsePositives(corpus, (text) => findings(text).length > 0);
  console.info(falsePositiveTable('card-data oracle (CardDataScanner, no test cards sent)', rates));

  it('given over 100,000 identifiers told apart from a card by their shape, when scanned, then at most 1 in 10,000 is reported', () => {
    const shaped = rates.filter((rate) => !rate.cardShaped);
    const flagged = shaped.reduce((sum, rate) => sum + rate.flagged, 0);
    const scanned = shaped.reduce((sum, rate) => sum + rate.scanned, 0);
    expect(scanned).toBeGreaterThanOrEqual(corpusSizeMin);
    expect(flagged / scanned, JSON.stringify(shaped.filter((rate) => rate.flagged > 0))).toBeLessThanOrEqual(falsePositiveRateMax);
  });

  it('given identifiers with a card number’s digits, when scanned, then no category is reported more often than Luhn lets through', () => {
    for (const rate of rates.filter((candidate) => candidate.cardShaped)) {
      expect(rate.flagged / rate.scanned, rate.category).toBeLessThanOrEqual(cardShapedRateMax);
    }
  });

  it('given migration names of any year (the names that once failed every day), when scanned, then none is reported', () => {
    for (const name of ['IntakeTokenIdempotencyKeys1795795816366', 'VaultCardUse1795795600000', 'IntakeInitial1764201600000']) {
      expect(findings(`INSERT INTO migrations VALUES (1, 1795795816366, '${name}')`), name).toEqual([]);
    }
  });
});

describe('the card-data oracle on test cards', () => {
  const cases = Object.entries(testCardNumbers).flatMap(([brand, card]) => writtenForms(card).map(({ shape, text }) => [brand, shape, card, text] as const));

  it.each(cases)('given the %s test card written %s and sent by the test, when scanned, then it is found', (_brand, _shape, card, text) => {
    expect(findings(text, [card]).length).toBeGreaterThan(0);
  });

  it.each(Object.entries(testCardNumbers))('given the %s test card unbroken and not among the cards sent, when scanned, then the issuer-range rule finds it', (_brand, card) => {
    expect(findings(`{"note":"${card}"}`)).toHaveLength(1);
    expect(findings(`{"note":"${card}"}`)[0]).not.toContain(card.slice(0, 12));
  });

  it('given a card number where an excused structure would be but not shaped like it, when scanned, then it is still found', () => {
    const diners = '36227206271667';
    const sixteen = withCheckDigit('522233334444555');
    expect(findings(`"note":"${sixteen}"`)).toHaveLength(1);
    expect(findings(`cb6cccc8c09dccca405-${sixteen}-01`)).toHaveLength(1);
    // After a +, up to 15 digits are a phone number; 16 are not.
    expect(findings(`+${diners}`)).toEqual([]);
    expect(findings(`+${sixteen}`)).toHaveLength(1);
  });

  it('given random Luhn-valid numbers of 13 to 19 digits, when the free-text guard takes one for a card, then the oracle does too (it shares no blind spot)', () => {
    const random = seededRandom(7);
    const missed: string[] = [];
    let caughtByGuard = 0;
    for (let index = 0; index < randomCardsScanned; index++) {
      const length = 13 + Math.floor(random() * 7);
      let digits = String(1 + Math.floor(random() * 9));
      while (digits.length < length - 1) digits += String(Math.floor(random() * 10));
      digits = withCheckDigit(digits);
      if (!containsCardNumber(digits)) continue;
      caughtByGuard++;
      if (!couldBeCardNumber(digits)) missed.push(digits);
    }
    // About 1 in 4 random Luhn-valid numbers fits a brand: enough to have tried every brand's ranges.
    expect(caughtByGuard).toBeGreaterThan(randomCardsScanned / 5);
    expect(missed).toEqual([]);
  }, supersetCheckTimeoutMs);
});

function withCheckDigit(partial: string): string {
  return [...'0123456789'].map((digit) => `${partial}${digit}`).find(luhnValid)!;
}
