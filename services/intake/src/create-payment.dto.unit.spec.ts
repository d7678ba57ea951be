import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { ApiError, contractValidationPipe, inputDepthMax } from '@dirigen/service-kit';
import { describe, expect, it } from 'vitest';
import { CreatePaymentDto } from './create-payment.dto';
import { CreateTokenDto } from './create-token.dto';

const card = { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' };
/** Every field of the contract, so that every field is tried with every wrong kind of value. */
const validBodies: [string, new () => object, Record<string, unknown>][] = [
  [
    'a card payment with every optional field',
    CreatePaymentDto,
    {
      amount: 2000,
      currency: 'USD',
      payment_method: { type: 'card', card },
      capture_method: 'manual',
      customer: { email: 'buyer@example.com', ip: '203.0.113.7', country: 'DE' },
      description: 'Order 1001',
      metadata: { order: 'A-1001' },
    },
  ],
  ['a saved-card payment', CreatePaymentDto, { amount: 2000, currency: 'USD', payment_method: { type: 'card', token: 'tok_abc', cvc: '123' } }],
  ['a wallet payment', CreatePaymentDto, { amount: 2000, currency: 'IDR', payment_method: { type: 'ewallet', provider: 'ovo', bank: 'bca', asset: 'usdc' } }],
  ['a card to save', CreateTokenDto, { card }],
];

function validate(metatype: new () => object, body: unknown): Promise<unknown> {
  const metadata: ArgumentMetadata = { type: 'body', metatype, data: undefined };
  return contractValidationPipe().transform(body, metadata);
}

async function refusal(metatype: new () => object, body: unknown): Promise<ApiError> {
  const error = await validate(metatype, body).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError refusal, got ${error === undefined ? 'acceptance' : String(error)}`);
  return error;
}

/** Every field of a body, at any depth, with its dotted path. */
function fields(value: Record<string, unknown>, prefix = ''): { path: string; value: unknown }[] {
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const nested = child && typeof child === 'object' && !Array.isArray(child) ? fields(child as Record<string, unknown>, path) : [];
    return [{ path, value: child }, ...nested];
  });
}

function replaced(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let parent: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  parent[keys.at(-1)!] = value;
  return copy;
}

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** One value of each JSON kind; an array holding an object stands for "an object, but in a list". */
const everyKind = (original: unknown): unknown[] => [null, [], [original], {}, 0, 1, '', 'text', true].filter((value) => kindOf(value) !== kindOf(original));

describe('a field of the wrong kind is refused as that field, whatever the field', () => {
  for (const [name, metatype, body] of validBodies) {
    it(`accepts ${name} as it is`, async () => {
      await expect(validate(metatype, body)).resolves.toBeInstanceOf(metatype);
    });

    it(`refuses arrays, null, numbers, strings and booleans in place of each field of ${name}`, async () => {
      for (const field of fields(body)) {
        for (const wrong of everyKind(field.value)) {
          const error = await refusal(metatype, replaced(body, field.path, wrong));
          // metadata is one field, a map checked as a whole: its entries are refused as `metadata`.
          const param = field.path.startsWith('metadata.') ? 'metadata' : field.path;
          expect({ field: field.path, wrong, status: error.status, param: error.param }).toEqual({ field: field.path, wrong, status: 400, param });
        }
      }
    });
  }

  it('refuses card: [] (it used to reach the card check as an array and answer 500)', async () => {
    const error = await refusal(CreatePaymentDto, { amount: 2000, currency: 'USD', payment_method: { type: 'card', card: [] } });
    expect(error.toBody().error).toMatchObject({ code: 'parameter_invalid', param: 'payment_method.card' });
  });
});

describe('input no contract field can hold is refused before it is transformed', () => {
  const payment = validBodies[0]![2];

  it('refuses a body that is not a JSON object', async () => {
    for (const body of [[], [payment], null, 'text', 42, true]) {
      expect((await refusal(CreatePaymentDto, body)).status).toBe(400);
    }
  });

  it('refuses nesting deeper than the limit instead of overflowing the stack', async () => {
    let deep: unknown = 'leaf';
    for (let level = 0; level < 10_000; level++) deep = [deep];
    expect((await refusal(CreatePaymentDto, { ...payment, metadata: deep })).toBody().error).toMatchObject({ code: 'parameter_invalid' });
    // The body and `surprise` are two levels: nested objects inside make up the rest.
    const nested = (levels: number): unknown => (levels === 0 ? {} : { a: nested(levels - 1) });
    // At the limit it is refused as unknown, not as too deep; one level more and it is too deep.
    expect((await refusal(CreatePaymentDto, { ...payment, surprise: nested(inputDepthMax - 2) })).toBody().error).toMatchObject({ code: 'parameter_unknown', param: 'surprise' });
    expect((await refusal(CreatePaymentDto, { ...payment, surprise: nested(inputDepthMax - 1) })).toBody().error).toMatchObject({ code: 'parameter_invalid' });
  });

  it('refuses keys that name Object.prototype members rather than dropping them silently', async () => {
    for (const key of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      const body = JSON.parse(`{"amount":2000,"currency":"USD","payment_method":{"type":"card","card":${JSON.stringify(card)},"${key}":{"polluted":true}}}`);
      expect((await refusal(CreatePaymentDto, body)).toBody().error).toMatchObject({ code: 'parameter_unknown', param: `payment_method.${key}` });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('refuses NUL characters and unpaired surrogates, which PostgreSQL cannot store, in values and keys', async () => {
    for (const text of ['a\u0000b', 'a\uD800b', '\uDC00', 'end\uD83D']) {
      expect((await refusal(CreatePaymentDto, { ...payment, description: text })).toBody().error).toMatchObject({ code: 'parameter_invalid', param: 'description' });
      expect((await refusal(CreatePaymentDto, { ...payment, metadata: { [text]: 'v' } })).toBody().error).toMatchObject({ code: 'parameter_unknown', param: 'metadata' });
    }
    await expect(validate(CreatePaymentDto, { ...payment, description: 'paired surrogates are text: 😀' })).resolves.toBeInstanceOf(CreatePaymentDto);
  });
});
