import { describe, expect, it } from 'vitest';
import { maskDigitRuns } from './url-redaction';

describe('masking card numbers out of URLs recorded in traces', () => {
  it('masks a card number in a path or a query, bare, grouped or percent-encoded, keeping the last four digits', () => {
    expect(maskDigitRuns('/v1/payments/4242424242424242')).toBe('/v1/payments/************4242');
    expect(maskDigitRuns('limit=10&starting_after=pay_4242424242424242')).toBe('limit=10&starting_after=pay_************4242');
    expect(maskDigitRuns('/v1/payments/4242-4242-4242-4242')).toBe('/v1/payments/****-****-****-4242');
    expect(maskDigitRuns('/v1/payments/4242%204242%204242%204242')).toBe('/v1/payments/**** **** **** 4242');
  });

  it('leaves ordinary URLs as they are', () => {
    expect(maskDigitRuns('/v1/payments/pay_AbC123xyz')).toBe('/v1/payments/pay_AbC123xyz');
    expect(maskDigitRuns('limit=100')).toBe('limit=100');
    expect(maskDigitRuns('/v1/payments/%E0%A4%A')).toBe('/v1/payments/%E0%A4%A');
  });
});
