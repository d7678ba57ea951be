import { describe, expect, it } from 'vitest';
import { containsCardNumber, luhnValid } from './card-number-scan';
import { falsePositiveTable, identifierCorpus, measureFalsePositives } from './testing/identifier-corpus';
import { testCardNumbers, writtenForms } from './testing/test-card-numbers';

/** The bar: at most 1 identifier in 10,000 refused as a card number. */
const falsePositiveRateMax = 1 / 10_000;
/**
 * Card-shaped identifiers pass Luhn one time in ten; the brand table must at least halve that for
 * each such category (the old rule, Luhn and length, refused 1 in 10 of all of them).
 */
const cardShapedRateMax = 1 / 20;
const corpusSizeMin = 100_000;

describe('the free-text guard on a corpus of realistic identifiers', () => {
  const corpus = identifierCorpus();
  const rates = measureFalsePositives(corpus, containsCardNumber);
  console.info(falsePositiveTable('free-text guard (containsCardNumber)', rates));

  it('given over 100,000 identifiers told apart from a card by their shape, when scanned, then at most 1 in 10,000 is taken for a card', () => {
    const shaped = rates.filter((rate) => !rate.cardShaped);
    const flagged = shaped.reduce((sum, rate) => sum + rate.flagged, 0);
    const scanned = shaped.reduce((sum, rate) => sum + rate.scanned, 0);
    expect(scanned).toBeGreaterThanOrEqual(corpusSizeMin);
    expect(flagged / scanned, JSON.stringify(shaped.filter((rate) => rate.flagged > 0))).toBeLessThanOrEqual(falsePositiveRateMax);
  });

  it('given identifiers with a card number’s digits (snowflakes, Shopify ids…), when scanned, then each category is refused at most half as often as Luhn alone would', () => {
    for (const rate of rates.filter((candidate) => candidate.cardShaped)) {
      expect(rate.flagged / rate.scanned, rate.category).toBeLessThanOrEqual(cardShapedRateMax);
    }
  });

  it('given the same seed, when generated twice, then the corpus is the same (no clock, no global randomness)', () => {
    expect(identifierCorpus(1, 50)).toEqual(identifierCorpus(1, 50));
    expect(identifierCorpus(1, 50)).not.toEqual(identifierCorpus(2, 50));
  });
});

describe('the free-text guard on test cards of every brand', () => {
  const cases = Object.entries(testCardNumbers).flatMap(([brand, card]) => writtenForms(card).map(({ shape, text }) => [brand, shape, card, text] as const));

  it.each(cases)('given the %s test card written %s, when checked, then it is found', (_brand, _shape, card, text) => {
    expect(luhnValid(card)).toBe(true);
    expect(containsCardNumber(text)).toBe(true);
  });

  it.each(Object.entries(testCardNumbers))('given the %s test card in full-width digits, when checked, then it is found', (_brand, card) => {
    const fullWidth = [...card].map((digit) => String.fromCharCode(0xff10 + Number(digit))).join('');
    expect(containsCardNumber(fullWidth)).toBe(true);
  });
});
