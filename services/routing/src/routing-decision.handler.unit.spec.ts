import { ROOT_CONTEXT } from '@opentelemetry/api';
import { decide, type PaymentCommand, type PaymentEvent, type RiskDecision } from '@dirigen/payments';
import type { ConnectorRoute, MerchantRouting } from '@dirigen/routing-rules';
import { cardPaymentRequested, foldPayment, newPaymentRef, withMeta, type PaymentEventWithMeta } from '@dirigen/testing';
import type { EntityManager } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { routingDecisionHandler, type MerchantRoutingSource } from './routing-decision.handler';

// The routing service's decision, without I/O: routes from memory, the events it would publish from the decider.

const route = (connector: string, priority: number, overrides: Partial<ConnectorRoute> = {}): ConnectorRoute => ({ connector, priority, enabled: true, currencies: [], methods: ['card'], ...overrides });
const routings = new Map<string, MerchantRouting>([
  [
    'mer_many',
    {
      rule: 'merchant_priority_list',
      routes: [route('adyen', 2), route('stripe', 1), route('midtrans', 3, { currencies: ['IDR'] }), route('paused', 0, { enabled: false }), route('qris-only', 4, { methods: ['qris'] }), route('xendit', 5)],
    },
  ],
  ['mer_idr_only', { rule: 'merchant_priority_list', routes: [route('midtrans', 1, { currencies: ['IDR'] })] }],
]);
const routingSource: MerchantRoutingSource = { forMerchant: async (_manager, merchantId) => routings.get(merchantId) ?? { rule: 'merchant_priority_list', routes: [] } };
/** The in-memory source never touches the transaction it is handed. */
const noTransaction = {} as EntityManager;
const handler = routingDecisionHandler(routingSource);

async function reactTo(history: PaymentEventWithMeta[]): Promise<PaymentCommand | undefined> {
  const { event, meta } = history[history.length - 1]!;
  return handler.react({ event, meta, payment: foldPayment(history), traceContext: ROOT_CONTEXT }, undefined, noTransaction);
}

/** A USD card payment assessed with `decision`: the history routing sees. */
function assessedPayment(merchantId: string, decision: RiskDecision): PaymentEventWithMeta[] {
  const payment = newPaymentRef(merchantId);
  const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested() });
  return [requested, withMeta(payment, { type: 'payment.risk_assessed', data: { score: decision === 'approve' ? 0 : 50, decision, reasons: [] } }, requested.meta.eventId)];
}

/** Given the history, the events routing publishes. */
async function routedEvents(history: PaymentEventWithMeta[]): Promise<PaymentEvent[]> {
  const command = await reactTo(history);
  expect(command?.type).toBe('RecordRoutingDecision');
  return decide(command!, { kind: 'exists', payment: foldPayment(history) });
}

describe('routing: choosing connectors for an assessed payment', () => {
  it('lists the candidates in priority order with scores and explains every exclusion', async () => {
    expect(await routedEvents(assessedPayment('mer_many', 'approve'))).toEqual([
      {
        type: 'payment.routed',
        data: {
          strategy: 'priority',
          rule: 'merchant_priority_list',
          candidates: [
            { connector: 'stripe', score: 1 },
            { connector: 'adyen', score: 0.6667 },
            { connector: 'xendit', score: 0.3333 },
          ],
          excluded: [
            { connector: 'paused', reason: 'disabled by the merchant' },
            { connector: 'midtrans', reason: 'does not support USD' },
            { connector: 'qris-only', reason: 'does not support card' },
          ],
        },
      },
    ]);
  });

  it('routes a payment sent to review like an approved one', async () => {
    const [routed] = await routedEvents(assessedPayment('mer_many', 'review'));
    expect(routed).toMatchObject({ type: 'payment.routed', data: { candidates: [{ connector: 'stripe' }, { connector: 'adyen' }, { connector: 'xendit' }] } });
  });

  it('fails the payment with no_connector_available when no connector can take it, saying why each was excluded', async () => {
    const events = await routedEvents(assessedPayment('mer_idr_only', 'approve'));
    expect(events).toEqual([
      { type: 'payment.routed', data: { strategy: 'priority', rule: 'merchant_priority_list', candidates: [], excluded: [{ connector: 'midtrans', reason: 'does not support USD' }] } },
      { type: 'payment.failed', data: { failureCode: 'no_connector_available', failureMessage: expect.any(String) } },
    ]);
  });

  it('does not route a payment that risk declined', async () => {
    expect(await reactTo(assessedPayment('mer_many', 'decline'))).toBeUndefined();
  });

  it('consumes only the risk decision (it carries the request), keeps no state, and reacts to nothing but the risk decision', async () => {
    expect([...handler.folds]).toEqual(['payment.risk_assessed']);
    expect(handler.state).toBe('carried');
    expect(await reactTo(assessedPayment('mer_many', 'approve').slice(0, 1))).toBeUndefined();
  });
});
