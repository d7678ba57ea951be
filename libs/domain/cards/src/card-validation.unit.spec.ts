import { describe, expect, it } from 'vitest';
import { validateCard, validateSecurityCode } from './card-validation';

const now = new Date('2026-11-27T12:00:00Z');
const visa = { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2030, cvc: '123' };

describe('validateCard', () => {
  it('accepts a valid Visa and returns only non-sensitive facts', () => {
    const result = validateCard(visa, now);
    expect(result).toEqual({
      ok: true,
      facts: { brand: 'visa', last4: '4242', bin: '424242', expMonth: 12, expYear: 2030 },
    });
  });

  it('rejects a Luhn-invalid number on the number field', () => {
    const result = validateCard({ ...visa, number: '4242424242424241' }, now);
    expect(result).toMatchObject({ ok: false, failure: { code: 'invalid_number', field: 'number' } });
  });

  it('rejects letters in the number without echoing it', () => {
    const result = validateCard({ ...visa, number: '4242abcd42424242' }, now);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('4242');
  });

  it('rejects a card that expired last month and accepts one expiring this month', () => {
    expect(validateCard({ ...visa, expMonth: 10, expYear: 2026 }, now)).toMatchObject({
      ok: false,
      failure: { code: 'expired_card' },
    });
    expect(validateCard({ ...visa, expMonth: 11, expYear: 2026 }, now).ok).toBe(true);
  });

  it('rejects month 13', () => {
    expect(validateCard({ ...visa, expMonth: 13 }, now)).toMatchObject({
      ok: false,
      failure: { field: 'exp_month' },
    });
  });

  it('requires a 4-digit CVC for American Express', () => {
    const amex = { number: '378282246310005', expMonth: 1, expYear: 2030, cvc: '123' };
    expect(validateCard(amex, now)).toMatchObject({ ok: false, failure: { code: 'invalid_cvc', field: 'cvc' } });
    expect(validateCard({ ...amex, cvc: '1234' }, now)).toMatchObject({ ok: true, facts: { brand: 'american-express' } });
  });
});

describe('validateSecurityCode', () => {
  it('accepts the length the brand requires and refuses any other, naming the cvc field', () => {
    expect(validateSecurityCode('visa', '123')).toEqual({ ok: true });
    expect(validateSecurityCode('american-express', '1234')).toEqual({ ok: true });
    expect(validateSecurityCode('visa', '1234')).toMatchObject({ ok: false, failure: { code: 'invalid_cvc', field: 'cvc', message: "The card's security code must be 3 digits." } });
    expect(validateSecurityCode('american-express', '123')).toMatchObject({ ok: false, failure: { code: 'invalid_cvc', field: 'cvc' } });
    expect(validateSecurityCode('visa', '12a')).toMatchObject({ ok: false });
  });

  it('refuses a brand it cannot check rather than guessing a length', () => {
    expect(validateSecurityCode('no-such-brand', '123')).toMatchObject({ ok: false, failure: { code: 'invalid_cvc' } });
  });
});
