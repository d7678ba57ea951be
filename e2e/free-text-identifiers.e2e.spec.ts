import { describe, expect, it } from 'vitest';
import { corpusYearsFrom, corpusYearsTo, identifierCorpus, seededRandom } from '../libs/domain/cards/src/testing/identifier-corpus';
import { api, cardPayment, testCards } from './support/api';

const paymentsSent = 200;
/** Payments in flight at once: enough to be quick, few enough not to queue behind the wait budget. */
const concurrentPaymentsMax = 10;
const seed = 0x1d3e;
const keyPrefixes = ['order', 'checkout', 'retry', 'mobile-ios', 'shop1'];

/** Epoch milliseconds spread over the corpus years, never today: the refusals this guards against came from timestamps. */
function keyTimestamps(count: number): number[] {
  const random = seededRandom(seed);
  const from = Date.UTC(corpusYearsFrom, 0, 1);
  const to = Date.UTC(corpusYearsTo, 0, 1);
  return Array.from({ length: count }, () => from + Math.floor(random() * (to - from)));
}

/** Identifiers merchants put in metadata, from the corpus categories a scan can tell from a card by shape. */
function metadataIdentifiers(): Record<string, string[]> {
  const wanted = ['order number, prefixed', 'order number, sequential', 'marketplace order (Amazon, eBay)', 'epoch milliseconds', 'phone E.164', 'ULID'];
  const corpus = identifierCorpus(seed, paymentsSent).filter((category) => wanted.includes(category.name));
  expect(corpus.every((category) => !category.cardShaped)).toBe(true);
  return Object.fromEntries(corpus.map((category) => [category.name, category.values]));
}

async function inBatches<T, R>(items: T[], send: (item: T) => Promise<R>): Promise<R[]> {
  const answers: R[] = [];
  for (let at = 0; at < items.length; at += concurrentPaymentsMax) answers.push(...(await Promise.all(items.slice(at, at + concurrentPaymentsMax).map(send))));
  return answers;
}

describe('identifiers in free text are not card numbers', () => {
  it('accepts 200 payments whose Idempotency-Key holds a millisecond timestamp and whose metadata holds order numbers, and replays one by its key', async () => {
    const identifiers = metadataIdentifiers();
    const sent = keyTimestamps(paymentsSent).map((timestamp, index) => ({
      key: `${keyPrefixes[index % keyPrefixes.length]}-${timestamp}-${index}`,
      body: cardPayment({
        amount: 1000 + index,
        description: `Order ${identifiers['order number, prefixed']![index]} placed at ${identifiers['epoch milliseconds']![index]}`,
        metadata: {
          order: identifiers['order number, prefixed']![index]!,
          sequence: identifiers['order number, sequential']![index]!,
          marketplace_order: identifiers['marketplace order (Amazon, eBay)']![index]!,
          phone: identifiers['phone E.164']![index]!,
          ulid: identifiers.ULID![index]!,
        },
      }),
    }));
    const answers = await inBatches(sent, ({ key, body }) => api('/v1/payments', { body, headers: { 'idempotency-key': key } }));
    const refused = answers.map((answer, index) => ({ key: sent[index]!.key, status: answer.status, error: answer.body.error })).filter((answer) => answer.status >= 300);
    expect(refused).toEqual([]);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(paymentsSent);

    const replay = await api('/v1/payments', { body: sent[7]!.body, headers: { 'idempotency-key': sent[7]!.key } });
    expect(replay.status).toBeOneOf([200, 202]);
    expect(replay.body.id).toBe(answers[7]!.body.id);
  });

  it.each([
    ['description', { description: `Order 114-6188215-2517220, use my card ${testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1 ')} please` }, 'description'],
    ['a metadata value', { metadata: { order: 'order-1764201600004-3', card: testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1-') } }, 'metadata.card'],
    ['a metadata value, with its expiry and CVC', { metadata: { note: `${testCards.visa} 12/30 123` } }, 'metadata.note'],
  ])('still refuses a real card number in %s, naming the field and not echoing it', async (_where, overrides, param) => {
    const refused = await api('/v1/payments', { body: cardPayment(overrides), headers: { 'idempotency-key': `order-${Date.UTC(2031, 4, 6)}-1` } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'card_data_in_free_text', param });
    expect(JSON.stringify(refused.body)).not.toMatch(/\d{4}[ -]?\d{4}[ -]?\d{4}/);
  });
});
