import { describe, expect, it } from 'vitest';
import { authorizeCard, isLuhnValid, testCardOutcomes, testPaymentMethodCards } from './test-cards';

const now = Date.UTC(2026, 10, 27);
const card = (number: string, expYear = 2030, expMonth = 12) => ({ number, expMonth, expYear });

describe('simulated card authorization', () => {
  it('keeps every test card Luhn-valid, so the table is reachable', () => {
    for (const number of testCardOutcomes.keys()) expect(isLuhnValid(number), number).toBe(true);
    for (const number of testPaymentMethodCards.values()) expect(testCardOutcomes.has(number), number).toBe(true);
  });

  it.each([
    ['4242424242424242', { kind: 'approve' }],
    ['5555555555554444', { kind: 'approve' }],
    ['4000000000000002', { kind: 'card_error', code: 'card_declined', declineCode: 'generic_decline' }],
    ['4000000000009995', { kind: 'card_error', code: 'card_declined', declineCode: 'insufficient_funds' }],
    ['4000000000000119', { kind: 'card_error', category: 'processing_error', code: 'processing_error' }],
    ['4000000000003220', { kind: 'requires_action' }],
    ['4111111111111111', { kind: 'approve' }],
  ])('answers card %s as PRODUCT.md says', (number, outcome) => {
    expect(authorizeCard(card(number), now)).toMatchObject(outcome);
  });

  it('refuses a number that fails the Luhn check', () => {
    expect(authorizeCard(card('4242424242424241'), now)).toMatchObject({ kind: 'card_error', code: 'incorrect_number' });
  });

  it('declines a card past the end of its expiry month, and accepts it during that month', () => {
    expect(authorizeCard(card('4242424242424242', 2026, 10), now)).toMatchObject({ code: 'expired_card' });
    expect(authorizeCard(card('4242424242424242', 2026, 11), now)).toEqual({ kind: 'approve' });
  });
});
