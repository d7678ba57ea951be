import { describe, expect, it } from 'vitest';
import { findCardDataInRequest } from './card-data-in-free-text.guard';

const card = '4242 4242 4242 4242';
const paymentCardField = 'payment_method.card.number';

function payment(overrides: Record<string, unknown> = {}) {
  return {
    amount: 2000,
    currency: 'USD',
    payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' } },
    ...overrides,
  };
}

describe('findCardDataInRequest', () => {
  it('given a card number only in the card field, when scanned, then the request is clean', () => {
    expect(findCardDataInRequest(payment({ description: 'Order 1234', metadata: { order: 'A-77' } }), paymentCardField)).toBeUndefined();
  });

  it('given a card number in the description, when scanned, then description is named', () => {
    expect(findCardDataInRequest(payment({ description: `pay with ${card}` }), paymentCardField)).toEqual({ param: 'description', description: 'description' });
  });

  it('given a card number in a metadata value, when scanned, then the metadata field is named', () => {
    expect(findCardDataInRequest(payment({ metadata: { order: 'A-77', note: card } }), paymentCardField)).toMatchObject({ param: 'metadata.note' });
  });

  it('given a card number as a metadata key, when scanned, then metadata is named and the key is not', () => {
    const found = findCardDataInRequest(payment({ metadata: { [card]: 'x' } }), paymentCardField);
    expect(found).toEqual({ param: 'metadata', description: 'a key of metadata' });
  });

  it('given a card number as a top-level key, when scanned, then no field is named', () => {
    expect(findCardDataInRequest({ [card]: 1 }, paymentCardField)).toEqual({ description: 'a key of the request body' });
  });

  it('given a card number in customer.email, when scanned, then customer.email is named', () => {
    expect(findCardDataInRequest(payment({ customer: { email: '4242424242424242@example.com' } }), paymentCardField)).toMatchObject({ param: 'customer.email' });
  });

  it('given a card number in a field the route does not declare or in an array, when scanned, then it is still found', () => {
    expect(findCardDataInRequest(payment({ notes: ['ok', card] }), paymentCardField)).toMatchObject({ param: 'notes.1' });
    expect(findCardDataInRequest(payment({ payment_method: { type: 'card', token: '4242424242424242' } }), paymentCardField)).toMatchObject({ param: 'payment_method.token' });
  });

  it('given a card number in the card field of another route, when scanned, then only that route’s field is exempt', () => {
    expect(findCardDataInRequest({ card: { number: card } }, 'card.number')).toBeUndefined();
    expect(findCardDataInRequest({ card: { number: card } }, paymentCardField)).toMatchObject({ param: 'card.number' });
  });

  it('given identifiers merchants put in metadata (timestamps, order numbers, phone numbers), when scanned, then the request is clean', () => {
    const metadata = { created_ms: '1764201600004', order: '114-6188215-2517220', invoice: '20261127-000417', whatsapp: '6281234567899', ref: 'order-2051222400003-7' };
    expect(findCardDataInRequest(payment({ metadata }), paymentCardField)).toBeUndefined();
  });

  it('given the first of two findings, when scanned, then the field sent first is named', () => {
    expect(findCardDataInRequest(payment({ description: card, metadata: { note: card } }), paymentCardField)).toMatchObject({ param: 'description' });
  });

  it('given a deeply nested body, when scanned, then the walk does not overflow the stack', () => {
    let nested: unknown = card;
    for (let depth = 0; depth < 100_000; depth++) nested = [nested];
    expect(findCardDataInRequest({ deep: nested }, paymentCardField)).toMatchObject({ param: expect.stringMatching(/^deep(\.0)+$/) });
  });
});
