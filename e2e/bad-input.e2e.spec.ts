import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cardPayment, platform, simulatorStats, sql, testCards } from './support/api';

const kafka = new Kafka({ clientId: 'e2e-bad-input', brokers: platform.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();

/** Everything a payment could leave behind: rows, events, tokens, PSP calls. */
async function footprint() {
  const offsets = await admin.fetchTopicOffsets('dirigen.payment-events.v1');
  const [{ payments }] = await sql<{ payments: string }>('SELECT count(*) AS payments FROM intake.payments');
  const [{ keys }] = await sql<{ keys: string }>('SELECT count(*) AS keys FROM intake.idempotency_keys');
  const [{ cards }] = await sql<{ cards: string }>('SELECT count(*) AS cards FROM vault.cards');
  const [{ outbox }] = await sql<{ outbox: string }>('SELECT count(*) AS outbox FROM intake.outbox');
  return {
    payments: Number(payments),
    idempotencyKeys: Number(keys),
    vaultCards: Number(cards),
    outbox: Number(outbox),
    events: offsets.reduce((sum, partition) => sum + Number(partition.high), 0),
    pspRequests: (await simulatorStats()).requests_served as number,
  };
}

beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());

const year = new Date().getUTCFullYear();

/** A valid card that the refused requests below carry in free text (the card field itself holds another one). */
const freeTextCard = { digits: testCards.mastercard, spaced: testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1 '), dashed: testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1-') };

function cardDataInFreeText(param: string) {
  return { status: 400, type: 'invalid_request_error', code: 'card_data_in_free_text', param };
}

const cases: { name: string; request: Parameters<typeof api>[1]; status: number; type: string; code?: string; param?: string }[] = [
  { name: 'malformed JSON', request: { rawBody: '{"amount": 2000,' }, status: 400, type: 'invalid_request_error', code: 'invalid_json' },
  { name: 'an amount sent as a string', request: { body: cardPayment({ amount: '2000' }) }, status: 400, type: 'invalid_request_error', param: 'amount' },
  { name: 'a zero amount', request: { body: cardPayment({ amount: 0 }) }, status: 400, type: 'invalid_request_error', param: 'amount' },
  { name: 'a negative amount', request: { body: cardPayment({ amount: -5 }) }, status: 400, type: 'invalid_request_error', param: 'amount' },
  { name: 'a fractional amount', request: { body: cardPayment({ amount: 10.5 }) }, status: 400, type: 'invalid_request_error', param: 'amount' },
  { name: 'a huge amount', request: { body: cardPayment({ amount: 1e15 }) }, status: 400, type: 'invalid_request_error', param: 'amount' },
  { name: 'an unknown currency', request: { body: cardPayment({ currency: 'XYZ' }) }, status: 400, type: 'invalid_request_error', param: 'currency' },
  { name: 'a non-chargeable ISO code', request: { body: cardPayment({ currency: 'XXX' }) }, status: 400, type: 'invalid_request_error', param: 'currency' },
  { name: 'a Luhn-invalid card number', request: { body: cardPayment({}, { number: '4242424242424241' }) }, status: 402, type: 'card_error', code: 'invalid_number', param: 'payment_method.card.number' },
  { name: 'an expired card', request: { body: cardPayment({}, { exp_month: 1, exp_year: year - 1 }) }, status: 402, type: 'card_error', code: 'expired_card' },
  { name: 'a month of 13', request: { body: cardPayment({}, { exp_month: 13 }) }, status: 400, type: 'invalid_request_error', param: 'payment_method.card.exp_month' },
  { name: 'a 3-digit CVC on an Amex', request: { body: cardPayment({}, { number: '378282246310005', cvc: '123' }) }, status: 402, type: 'card_error', code: 'invalid_cvc' },
  { name: 'a missing payment method', request: { body: { amount: 2000, currency: 'USD' } }, status: 400, type: 'invalid_request_error', param: 'payment_method' },
  { name: 'an unknown field', request: { body: cardPayment({ surprise: true }) }, status: 400, type: 'invalid_request_error', code: 'parameter_unknown', param: 'surprise' },
  { name: 'an unknown capture method', request: { body: cardPayment({ capture_method: 'later' }) }, status: 400, type: 'invalid_request_error', param: 'capture_method' },
  { name: 'too many metadata keys', request: { body: cardPayment({ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`k${index}`, 'v'])) }) }, status: 400, type: 'invalid_request_error', param: 'metadata' },
  { name: 'a too-long description', request: { body: cardPayment({ description: 'x'.repeat(1001) }) }, status: 400, type: 'invalid_request_error', param: 'description' },
  { name: 'an invalid customer email', request: { body: cardPayment({ customer: { email: 'not-an-email' } }) }, status: 400, type: 'invalid_request_error', param: 'customer.email' },
  { name: 'a method that is not available yet', request: { body: { amount: 2000, currency: 'IDR', payment_method: { type: 'qris' } } }, status: 400, type: 'invalid_request_error', code: 'payment_method_unavailable' },
  { name: 'an oversized body', request: { body: cardPayment({ description: 'x'.repeat(40_000) }) }, status: 413, type: 'invalid_request_error', code: 'body_too_large' },
  { name: 'a missing API key', request: { body: cardPayment(), key: null }, status: 401, type: 'authentication_error', code: 'api_key_missing' },
  { name: 'a wrong API key', request: { body: cardPayment(), key: 'sk_test_wrong' }, status: 401, type: 'authentication_error', code: 'api_key_invalid' },
  { name: 'an Idempotency-Key over 255 characters', request: { body: cardPayment(), headers: { 'idempotency-key': 'k'.repeat(256) } }, status: 400, type: 'invalid_request_error', param: 'Idempotency-Key' },
  // A control character (a tab: fetch sends no NUL or newline) in the key; its content is otherwise the merchant's, kept only as a keyed hash.
  { name: 'an Idempotency-Key with a control character', request: { body: cardPayment(), headers: { 'idempotency-key': 'order-1\t2' } }, status: 400, type: 'invalid_request_error', param: 'Idempotency-Key' },
  // A card number typed into free text (PCI DSS: card data lives only in the vault), in the shapes people type it.
  { name: 'a card number in the description', request: { body: cardPayment({ description: `Please use my other card ${freeTextCard.spaced} instead` }) }, ...cardDataInFreeText('description') },
  { name: 'a card number in a metadata value', request: { body: cardPayment({ metadata: { order: 'A-1001', note: freeTextCard.dashed } }) }, ...cardDataInFreeText('metadata.note') },
  { name: 'a card number as a metadata key', request: { body: cardPayment({ metadata: { [freeTextCard.digits]: 'backup card' } }) }, ...cardDataInFreeText('metadata') },
  { name: 'a card number in customer.email', request: { body: cardPayment({ customer: { email: `${freeTextCard.digits}@example.com` } }) }, ...cardDataInFreeText('customer.email') },
];

describe('bad input is refused with a 4xx in the contract shape, and nothing is stored, published or charged', () => {
  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const before = await footprint();
      const response = await api('/v1/payments', testCase.request);
      expect(response.status).toBe(testCase.status);
      expect(response.body.error).toMatchObject({ type: testCase.type, message: expect.any(String), code: expect.any(String) });
      if (testCase.code) expect(response.body.error.code).toBe(testCase.code);
      if (testCase.param) expect(response.body.error.param).toBe(testCase.param);
      // Errors never echo card data: not the card field's number, not one typed into free text.
      expect(JSON.stringify(response.body).replace(/[ -]/g, '')).not.toMatch(/4242424242424241|378282246310005|5555555555554444/);
      // Let anything that was wrongly published travel before looking.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await footprint()).toEqual(before);
    });
  }
});
