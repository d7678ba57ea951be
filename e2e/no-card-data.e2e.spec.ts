import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { cardExpiryYear, cardPayment, eventually, headerLines, platform, sql, testCards } from './support/api';
import { CardDataScanner, describeFinding, luhnValid } from './support/card-data-scan';
import { recordCardsSent, recordHttpAnswer, recordPayments } from './support/scan-sources';
import { rawVaultCall } from './support/vault';

const amex = '378282246310005';
const luhnInvalid = '4242424242424241';
const paymentEventsTopic = 'dirigen.payment-events.v1';
/** Each service's consumer group and the topic it reads (its stage topic, or the full log). */
const serviceGroups: Record<string, string> = {
  fraud: 'dirigen.payment-requested.v1',
  routing: 'dirigen.payment-risk-assessed.v1',
  gateway: 'dirigen.payment-routed.v1',
  'intake-projection': paymentEventsTopic,
};
const settleTimeoutMs = 20_000;
const year = new Date().getUTCFullYear();

interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  key?: string | null;
  headers?: Record<string, string>;
}

interface Exchange {
  request: string;
  status: number;
  headers: string;
  body: string;
}

const exchanges: Exchange[] = [];
const paymentIds = new Map<string, string>();

/** Sends a request as a merchant (or one without a valid key) would, recording the raw answer for the scan. */
async function exchange(request: string, path: string, options: RequestOptions = {}): Promise<Exchange> {
  const key = options.key === undefined ? platform.apiKey : options.key;
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  recordCardsSent(platform.dataDir, options.body, options.rawBody);
  const response = await fetch(`${platform.apiUrl}${path}`, {
    method: hasBody ? 'POST' : 'GET',
    headers: { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
  });
  const answer = { request, status: response.status, headers: headerLines(response.headers), body: await response.text() };
  exchanges.push(answer);
  recordHttpAnswer(platform.dataDir, answer);
  return answer;
}

const payments: [string, unknown][] = [
  ['a Visa', cardPayment()],
  ['a Visa typed with spaces', cardPayment({}, { number: '4242 4242 4242 4242' })],
  ['a Mastercard', cardPayment({}, { number: testCards.mastercard })],
  ['a hard decline', cardPayment({}, { number: testCards.declined })],
  ['insufficient funds', cardPayment({}, { number: testCards.insufficientFunds })],
  ['a PSP processing error', cardPayment({}, { number: testCards.processingError })],
  ['a 3-D Secure card', cardPayment({}, { number: testCards.threeDSecure })],
  ['an Amex with a 4-digit CVC', cardPayment({}, { number: amex, cvc: '1234' })],
  ['a manual capture', cardPayment({ capture_method: 'manual', amount: 5000 })],
];

const refusals: [string, RequestOptions][] = [
  ['a Luhn-invalid number', { body: cardPayment({}, { number: luhnInvalid }) }],
  ['an expired card', { body: cardPayment({}, { exp_month: 1, exp_year: year - 1 }) }],
  ['a 3-digit CVC on an Amex', { body: cardPayment({}, { number: amex, cvc: '123' }) }],
  ['a 2-digit CVC on a Visa', { body: cardPayment({}, { cvc: '12' }) }],
  ['an unknown field beside a valid card', { body: cardPayment({ surprise: true }) }],
  ['an unknown field inside a valid card', { body: cardPayment({}, { pin: '1234' }) }],
  ['an oversized body holding a card', { body: cardPayment({ description: 'x'.repeat(40_000) }) }],
  ['malformed JSON cut after the card number', { rawBody: `{"amount":2000,"currency":"USD","payment_method":{"type":"card","card":{"number":"${testCards.visa}",` }],
  ['malformed JSON failing right at a bare card number', { rawBody: `{"payment_method":{"card":{"number":${testCards.mastercard}x}}}` }],
  ['a card sent as text/plain', { rawBody: JSON.stringify(cardPayment()), headers: { 'content-type': 'text/plain' } }],
  ['a wrong API key with a card', { body: cardPayment(), key: 'sk_test_wrong' }],
  ['no API key with a card', { body: cardPayment(), key: null }],
  ['a card number typed into the description', { body: cardPayment({ description: `my card is ${testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1 ')}` }) }],
  ['a card number typed into a metadata key', { body: cardPayment({ metadata: { [testCards.mastercard]: 'backup' } }) }],
];

/** Every path a card number travels: approvals, declines, errors, 3-D Secure, manual capture, a replay, refusals, reads. */
async function driveCardTraffic(): Promise<void> {
  for (const [name, body] of payments) {
    const created = await exchange(`POST ${name}`, '/v1/payments', { body });
    expect(created.status, `${name}: ${created.body}`).toBeOneOf([201, 202]);
    paymentIds.set(name, JSON.parse(created.body).id);
  }
  // Intake keeps an Idempotency-Key only as its keyed hash: one with a card number typed into it is taken, and the scan proves its text is nowhere.
  const idempotencyKey = `retry-${testCards.mastercard}-${randomUUID()}`;
  for (const attempt of ['first', 'retry']) {
    const sent = await exchange(`POST an idempotent payment (${attempt})`, '/v1/payments', { body: cardPayment({ amount: 4321 }), headers: { 'idempotency-key': idempotencyKey } });
    expect(sent.status).toBeOneOf(attempt === 'first' ? [201, 202] : [200, 202]);
    paymentIds.set('an idempotent payment', JSON.parse(sent.body).id);
  }
  for (const [name, options] of refusals) {
    const refused = await exchange(`POST ${name}`, '/v1/payments', options);
    expect(refused.status, `${name}: ${refused.body}`).toBeGreaterThanOrEqual(400);
    expect(refused.status, `${name}: ${refused.body}`).toBeLessThan(500);
  }
  const saved = await exchange('POST a card to save', '/v1/tokens', { body: { card: { number: testCards.visa, exp_month: 12, exp_year: cardExpiryYear, cvc: '123' } } });
  const token = JSON.parse(saved.body).id as string;
  for (const [name, cvc] of [['a saved card', undefined], ['a saved card with a payment-time security code', '456']] as const) {
    const paid = await exchange(`POST ${name}`, '/v1/payments', { body: { amount: 1200, currency: 'USD', payment_method: { type: 'card', token, ...(cvc ? { cvc } : {}) } } });
    expect(paid.status, `${name}: ${paid.body}`).toBeOneOf([201, 202]);
    paymentIds.set(name, JSON.parse(paid.body).id);
  }
  // The vault's only way in is gRPC: an intruder without a credential gets nothing back, not even an echo.
  const intruder = await rawVaultCall('Tokenize', { merchantId: platform.merchantId, card: { number: testCards.visa, expMonth: 12, expYear: cardExpiryYear, cvc: '123' }, use: 1 });
  recordHttpAnswer(platform.dataDir, { request: 'gRPC Tokenize without a credential', status: intruder.code, headers: JSON.stringify(intruder.trailers), body: intruder.details });
  expect(intruder.code).toBe(status.UNAUTHENTICATED);
}

/** Waits for every payment to be final, every outbox published and every service caught up, then for the logs to flush. */
async function waitUntilSettled(): Promise<void> {
  for (const [name, id] of paymentIds) {
    await eventually(async () => {
      const read = await exchange(`GET ${name}`, `/v1/payments/${id}`);
      return JSON.parse(read.body).status === 'processing' ? undefined : read;
    }, settleTimeoutMs, 200);
    await exchange(`GET the timeline of ${name}`, `/v1/payments/${id}/events`);
  }
  await exchange('GET the payment list', '/v1/payments?limit=100');
  expect(JSON.parse(exchanges.find((answer) => answer.request === 'GET a Visa')!.body).status).toBe('succeeded');
  const admin = new Kafka({ clientId: 'e2e-no-card-data', brokers: platform.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await eventually(async () => ((await outboxBacklog()) === 0 && (await consumerLag(admin)) === 0 ? true : undefined), settleTimeoutMs, 200);
  } finally {
    await admin.disconnect();
  }
  // Services write logs through a pipe to their log file.
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function outboxBacklog(): Promise<number> {
  const [{ rows }] = await sql<{ rows: string }>(
    'SELECT (SELECT count(*) FROM intake.outbox) + (SELECT count(*) FROM fraud.outbox) + (SELECT count(*) FROM routing.outbox) + (SELECT count(*) FROM gateway.outbox) AS rows',
  );
  return Number(rows);
}

async function consumerLag(admin: Admin): Promise<number> {
  let lag = 0;
  for (const [groupId, topic] of Object.entries(serviceGroups)) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const { partition, low, high } of ends) {
      const offset = committed?.partitions.find((entry) => entry.partition === partition)?.offset ?? '-1';
      lag += Number(high) - Number(offset === '-1' ? low : offset);
    }
  }
  return lag;
}

function withCheckDigit(partial: string): string {
  return [...'0123456789'].map((digit) => `${partial}${digit}`).find(luhnValid)!;
}

// PCI DSS: a card number exists only inside the tokenization vault, encrypted. This file sends card numbers
// every way a merchant (or an intruder) can send them and waits until everything has settled; the search for
// them runs after the whole e2e suite, over everything it left (e2e/no-card-data.scan.spec.ts).
describe('card numbers exist only inside the vault (PCI DSS)', () => {
  it('recognises a card number in every shape it looks for, and excuses only hex identifiers, span ids and +phone numbers by their structure', () => {
    const visaBytes = Buffer.from(testCards.visa, 'latin1');
    const planted = [
      `{"number":"${testCards.visa}"}`,
      'card 4242 4242 4242 4242 exp',
      'card 4242-4242-4242-4242 exp',
      `\\x${visaBytes.toString('hex')}`,
      `<Buffer ${visaBytes.toString('hex').replace(/(..)(?!$)/g, '$1 ')}>`,
      ...['', 'x', 'xy'].map((prefix) => Buffer.from(`${prefix}${testCards.visa}`, 'latin1').toString('base64')),
      JSON.stringify(visaBytes),
      `pan=${withCheckDigit('601100009013942')}&`,
      // A 19-digit UnionPay number, a range no test card is in.
      `"account":${withCheckDigit('622126000000000000')}`,
      // A card number where a span id would be, but not shaped like a trace context: still found.
      `"note":"${withCheckDigit('522233334444555')}"`,
      `cb6cccc8c09dccca405-${withCheckDigit('522233334444555')}-01`,
    ];
    for (const text of planted) {
      const scanner = new CardDataScanner([testCards.visa]);
      scanner.scan({ source: 'planted', text });
      expect(scanner.findings.length, text).toBeGreaterThan(0);
      expect(describeFinding(scanner.findings[0]!)).not.toContain(testCards.visa.slice(0, 12));
    }
    const innocent = [
      `"time":"2039-10-01T00:00:00.000Z"`,
      // Epoch milliseconds of any year, and the migration names that hold them.
      `"at":${withCheckDigit('176420160000')}`,
      `"at":${withCheckDigit('220898880000')}`,
      'IntakeTokenIdempotencyKeys1795795816366',
      `"trace_id":"ab${withCheckDigit('522233334444555')}cdef0123456789"`,
      `"serial":"${withCheckDigit('522233334444555')}00000000"`,
      // W3C span ids are 16 random hex characters; about one in 1,850 comes out all digits.
      `"span_id":"${withCheckDigit('522233334444555')}"`,
      `00-0af7651916cd43dd8448eb211c80319c-${withCheckDigit('522233334444555')}-01`,
    ];
    for (const text of innocent) {
      const scanner = new CardDataScanner([testCards.visa]);
      scanner.scan({ source: 'innocent', text });
      expect(scanner.findings.map(describeFinding), text).toEqual([]);
    }
  });

  it('answers every request that carried a card, by any path, and settles: payments final, outboxes published, consumers caught up', async () => {
    await driveCardTraffic();
    await waitUntilSettled();
    // The scan proves it reads the right places by finding each of these payments in them.
    recordPayments(platform.dataDir, [...paymentIds.values()]);
  }, 90_000);
});
