import { describe, expect, it } from 'vitest';
import type { Payment } from '@dirigen/payments';
import { notificationPayload } from './payment-waiter';

const payment = (metadata: Record<string, string>) => ({ id: 'pay_123', merchantId: 'mer_1', status: 'succeeded', metadata }) as unknown as Payment;

describe('the payment update notification', () => {
  it('carries the payment as committed after its id, so the waiting request needs not read it back', () => {
    const payload = notificationPayload(payment({ order: 'A-1' }));
    expect(payload.startsWith('pay_123 ')).toBe(true);
    expect(JSON.parse(payload.slice('pay_123 '.length))).toMatchObject({ id: 'pay_123', status: 'succeeded', metadata: { order: 'A-1' } });
  });

  it('names the payment alone when it would not fit a NOTIFY payload (under 8,000 bytes)', () => {
    const large = payment(Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`key${index}`, 'x'.repeat(500)])));
    expect(notificationPayload(large)).toBe('pay_123');
  });
});
