// Stripe's public test-card convention (PRODUCT.md, "Simulated PSPs"): the card number decides the outcome.

export type CardOutcome =
  | { kind: 'approve' }
  | { kind: 'requires_action' }
  | { kind: 'card_error'; category: 'declined' | 'processing_error'; code: string; declineCode?: string; message: string };

const declined = (code: string, declineCode: string, message: string): CardOutcome => ({ kind: 'card_error', category: 'declined', code, declineCode, message });

const approve: CardOutcome = { kind: 'approve' };

/** Outcomes by card number; any other Luhn-valid, unexpired number approves. */
export const testCardOutcomes: ReadonlyMap<string, CardOutcome> = new Map<string, CardOutcome>([
  ['4242424242424242', approve],
  ['5555555555554444', approve],
  ['4000000000000002', declined('card_declined', 'generic_decline', 'Your card was declined.')],
  ['4000000000009995', declined('card_declined', 'insufficient_funds', 'Your card has insufficient funds.')],
  ['4000000000009987', declined('card_declined', 'lost_card', 'Your card was declined.')],
  ['4000000000009979', declined('card_declined', 'stolen_card', 'Your card was declined.')],
  ['4000000000000069', declined('expired_card', 'expired_card', 'Your card has expired.')],
  ['4000000000000127', declined('incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect.")],
  [
    '4000000000000119',
    { kind: 'card_error', category: 'processing_error', code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  ],
  ['4000000000003220', { kind: 'requires_action' }],
]);

/** Stripe's test PaymentMethod ids, as the official SDK's documented flows use them, by the card they stand for. */
export const testPaymentMethodCards: ReadonlyMap<string, string> = new Map([
  ['pm_card_visa', '4242424242424242'],
  ['pm_card_mastercard', '5555555555554444'],
  ['pm_card_chargeDeclined', '4000000000000002'],
  ['pm_card_chargeDeclinedInsufficientFunds', '4000000000009995'],
  ['pm_card_chargeDeclinedLostCard', '4000000000009987'],
  ['pm_card_chargeDeclinedStolenCard', '4000000000009979'],
  ['pm_card_chargeDeclinedExpiredCard', '4000000000000069'],
  ['pm_card_chargeDeclinedIncorrectCvc', '4000000000000127'],
  ['pm_card_chargeDeclinedProcessingError', '4000000000000119'],
  ['pm_card_authenticationRequired', '4000000000003220'],
  ['pm_card_threeDSecure2Required', '4000000000003220'],
]);

export interface SimulatedCard {
  number: string;
  expMonth: number;
  expYear: number;
}

const incorrectNumber: CardOutcome = {
  kind: 'card_error',
  category: 'declined',
  code: 'incorrect_number',
  message: 'Your card number is incorrect.',
};
const expired: CardOutcome = declined('expired_card', 'expired_card', 'Your card has expired.');

export function authorizeCard(card: SimulatedCard, nowMs: number): CardOutcome {
  if (!/^\d{12,19}$/.test(card.number) || !isLuhnValid(card.number)) return incorrectNumber;
  const now = new Date(nowMs);
  // Valid through the last day of the expiry month.
  if (Date.UTC(card.expYear, card.expMonth, 1) <= now.getTime()) return expired;
  return testCardOutcomes.get(card.number) ?? approve;
}

export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}
