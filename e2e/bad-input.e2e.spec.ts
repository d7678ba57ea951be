import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { api, cardPayment, platform, testCards } from './support/api';
import { closeFootprint, footprint } from './support/footprint';

afterAll(() => closeFootprint());

const year = new Date().getUTCFullYear();

/** A valid card that the refused requests below carry in free text (the card field itself holds another one). */
const freeTextCard = { digits: testCards.mastercard, spaced: testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1 '), dashed: testCards.mastercard.replace(/(\d{4})(?=\d)/g, '$1-') };

function cardDataInFreeText(param: string) {
  return { status: 400, type: 'invalid_request_error', code: 'card_data_in_free_text', param };
}

const cases: { name: string; path?: string; request: Parameters<typeof api>[1]; status: number; type: string; code?: string; param?: string }[] = [
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
  // A nested object in any other shape (it used to pass validation as an array and answer 500).
  { name: 'a card that is an empty list', request: { body: cardPayment({ payment_method: { type: 'card', card: [] } }) }, status: 400, type: 'invalid_request_error', code: 'parameter_invalid', param: 'payment_method.card' },
  // (A Luhn-invalid number: a valid one anywhere but payment_method.card.number is refused earlier, as card data in free text.)
  { name: 'a card inside a list', request: { body: cardPayment({ payment_method: { type: 'card', card: [{ ...cardPayment().payment_method.card, number: '4242424242424241' }] } }) }, status: 400, type: 'invalid_request_error', param: 'payment_method.card' },
  { name: 'a card that is null', request: { body: cardPayment({ payment_method: { type: 'card', card: null } }) }, status: 400, type: 'invalid_request_error', param: 'payment_method.card' },
  { name: 'a card that is a number', request: { body: cardPayment({ payment_method: { type: 'card', card: 4242 } }) }, status: 400, type: 'invalid_request_error', param: 'payment_method.card' },
  { name: 'a saved-card token that is null', request: { body: { amount: 2000, currency: 'USD', payment_method: { type: 'card', token: null } } }, status: 400, type: 'invalid_request_error', param: 'payment_method.token' },
  { name: 'a customer that is a list', request: { body: cardPayment({ customer: [{ email: 'a@example.com' }] }) }, status: 400, type: 'invalid_request_error', param: 'customer' },
  { name: 'a payment method that is a string', request: { body: cardPayment({ payment_method: 'card' }) }, status: 400, type: 'invalid_request_error', param: 'payment_method' },
  { name: 'a body that is a list', request: { rawBody: JSON.stringify([{ amount: 2000, currency: 'USD' }]) }, status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  { name: 'a URL whose percent-encoding does not decode', path: '/v1/payments/%', request: { rawBody: JSON.stringify(cardPayment()) }, status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  { name: 'metadata nested thousands deep', request: { rawBody: JSON.stringify(cardPayment()).replace(/}$/, `,"metadata":${'['.repeat(5_000)}${']'.repeat(5_000)}}`) }, status: 400, type: 'invalid_request_error', code: 'parameter_invalid' },
  { name: 'a __proto__ key', request: { rawBody: JSON.stringify(cardPayment()).replace(/}$/, ',"__proto__":{"amount":1}}') }, status: 400, type: 'invalid_request_error' },
  { name: 'a constructor key', request: { rawBody: JSON.stringify(cardPayment()).replace(/}$/, ',"constructor":1}') }, status: 400, type: 'invalid_request_error', code: 'parameter_unknown', param: 'constructor' },
  { name: 'a NUL character in the description', request: { body: cardPayment({ description: 'order\u00001' }) }, status: 400, type: 'invalid_request_error', param: 'description' },
  { name: 'an unpaired surrogate in a metadata value', request: { body: cardPayment({ metadata: { note: 'broken \uD800 text' } }) }, status: 400, type: 'invalid_request_error', param: 'metadata.note' },
  { name: "a token id longer than the router's limit", path: `/v1/tokens/${'x'.repeat(250)}`, request: { method: 'DELETE' }, status: 414, type: 'invalid_request_error', code: 'url_too_long' },
  { name: 'a form-encoded body', request: { rawBody: 'amount=2000&currency=USD', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, type: 'invalid_request_error', code: 'unsupported_media_type' },
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
      const response = await api(testCase.path ?? '/v1/payments', testCase.request);
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

/** 5 MB: far past the 32 KB body limit, well under what the server reads and discards to answer. */
const oversizedBody = JSON.stringify(cardPayment({ description: 'x'.repeat(5 * 1024 * 1024) }));

interface Exchange {
  status: number;
  text: string;
}

/** A raw node:http client: with Content-Length, or chunked (Node sends no length when the body is written before end()). */
function postWithNodeHttp(baseUrl: string, chunked: boolean): Promise<Exchange> {
  const url = new URL('/v1/payments', baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${platform.apiKey}`, 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(oversizedBody) }) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    if (chunked) {
      for (let offset = 0; offset < oversizedBody.length; offset += 64 * 1024) request.write(oversizedBody.slice(offset, offset + 64 * 1024));
      request.end();
    } else request.end(oversizedBody);
  });
}

/** fetch (undici): a string body has a Content-Length; a stream body is sent chunked. */
async function postWithFetch(baseUrl: string, chunked: boolean): Promise<Exchange> {
  const encoded = new TextEncoder().encode(oversizedBody);
  const body = chunked
    ? new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < encoded.length; offset += 64 * 1024) controller.enqueue(encoded.subarray(offset, offset + 64 * 1024));
          controller.close();
        },
      })
    : oversizedBody;
  const response = await fetch(new URL('/v1/payments', baseUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.apiKey}`, 'content-type': 'application/json' },
    body,
    ...(chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: response.status, text: await response.text() };
}

describe('a 5 MB body is answered 413 in the error shape, never with a connection reset', () => {
  const intakeReplica = platform.processes.find((entry) => entry.name === 'intake')!;
  const targets: [string, string][] = [
    ['through the load balancer', platform.apiUrl],
    ['at an intake replica directly', `http://127.0.0.1:${intakeReplica.port}`],
  ];
  const clients: [string, (baseUrl: string) => Promise<Exchange>][] = [
    ['node:http with Content-Length', (baseUrl) => postWithNodeHttp(baseUrl, false)],
    ['node:http chunked, without Content-Length', (baseUrl) => postWithNodeHttp(baseUrl, true)],
    ['fetch with Content-Length', (baseUrl) => postWithFetch(baseUrl, false)],
    ['fetch streaming, chunked', (baseUrl) => postWithFetch(baseUrl, true)],
  ];
  for (const [where, baseUrl] of targets) {
    for (const [client, post] of clients) {
      it(`answers 413 ${where} to ${client}`, async () => {
        const before = await footprint();
        // Several in a row: a reset is a race (the answer against the client's last writes), one try could pass by luck.
        for (let attempt = 0; attempt < 3; attempt++) {
          const answer = await post(baseUrl);
          expect(answer.status).toBe(413);
          expect(JSON.parse(answer.text)).toEqual({ error: { type: 'invalid_request_error', code: 'body_too_large', message: expect.any(String) } });
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
        expect(await footprint()).toEqual(before);
      });
    }
  }
});
