import { describe, expect, it } from 'vitest';
import type { PaymentRequested } from '@dirigen/payments';
import { routeByPriority, type ConnectorRoute } from './priority-routing';

const request: PaymentRequested = {
  amount: { amountMinor: 2000, currency: 'USD' },
  captureMethod: 'automatic',
  paymentMethod: { type: 'card' },
  metadata: {},
};

function route(connector: string, priority: number, overrides: Partial<ConnectorRoute> = {}): ConnectorRoute {
  return { connector, priority, enabled: true, currencies: [], methods: ['card'], ...overrides };
}

describe('routeByPriority', () => {
  it('orders candidates by priority and explains the order with scores', () => {
    const decision = routeByPriority(request, { rule: 'default', routes: [route('b', 2), route('a', 1)] });
    expect(decision.candidates).toEqual([
      { connector: 'a', score: 1 },
      { connector: 'b', score: 0.5 },
    ]);
    expect(decision).toMatchObject({ strategy: 'priority', rule: 'default', excluded: [] });
  });

  it('excludes disabled connectors and those without the currency or method, saying why', () => {
    const decision = routeByPriority(request, {
      rule: 'default',
      routes: [
        route('off', 1, { enabled: false }),
        route('idr-only', 2, { currencies: ['IDR'] }),
        route('qris-only', 3, { methods: ['qris'] }),
        route('ok', 4),
      ],
    });
    expect(decision.candidates.map((candidate) => candidate.connector)).toEqual(['ok']);
    expect(decision.excluded).toEqual([
      { connector: 'off', reason: 'disabled by the merchant' },
      { connector: 'idr-only', reason: 'does not support USD' },
      { connector: 'qris-only', reason: 'does not support card' },
    ]);
  });
});
