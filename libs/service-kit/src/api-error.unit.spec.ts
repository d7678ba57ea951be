import { describe, expect, it } from 'vitest';
import { ApiError, echoSafely } from './api-error';

describe('errors that echo what the caller sent', () => {
  it('masks a card number typed where an id belongs', () => {
    expect(ApiError.notFound('payment', '4012888888881881').message).toBe("No such payment: '************1881'");
    expect(echoSafely('pay_4012888888881881x')).toBe('pay_************1881x');
  });

  it('keeps ordinary ids readable and truncates long ones', () => {
    expect(echoSafely('pay_abc123')).toBe('pay_abc123');
    expect(echoSafely('x'.repeat(100))).toBe(`${'x'.repeat(64)}…`);
  });
});
