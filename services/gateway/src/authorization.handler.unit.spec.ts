import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { AttemptOutcome, RoutingDecision } from '@dirigen/payments';
import type { ProcessedItem } from '@dirigen/service-kit';
import { cardPaymentRequested, foldPayment, newPaymentRef, withMeta } from '@dirigen/testing';
import { describe, expect, it } from 'vitest';
import { AuthorizationRunner } from './authorization-runner';
import { authorizationHandler } from './authorization.handler';

// What the gateway records for each event, given the outcome its authorization produced.

function routedItem(candidates: RoutingDecision['candidates'] = [{ connector: 'stripe', score: 1 }]): ProcessedItem {
  const payment = newPaymentRef('mer_gateway_unit');
  const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested() });
  const routed = withMeta(payment, { type: 'payment.routed', data: { strategy: 'priority', rule: 'r', candidates, excluded: [] } }, requested.meta.eventId);
  return { event: routed.event, meta: routed.meta, payment: foldPayment([requested, routed]), traceContext: ROOT_CONTEXT };
}

/** Nothing here reaches a PSP or the vault: `react` only turns an outcome into a command. */
const unusedVault = { detokenizeBatch: () => Promise.reject(new Error('not called')), releaseSecurityCodes: () => Promise.reject(new Error('not called')) };

describe('gateway: reacting to events', () => {
  /** The gateway's reaction reads nothing in the transaction. */
  const noTransaction = undefined as never;
  const handler = authorizationHandler(new AuthorizationRunner(new Map(), unusedVault));
  const outcome: AttemptOutcome = { attemptId: 'att_x', connector: 'stripe', status: 'captured', latencyMs: 1 };

  it('records the attempt outcome of a routed payment', async () => {
    expect(await handler.react(routedItem(), outcome, noTransaction)).toEqual({ type: 'RecordAttemptOutcome', outcome });
  });

  it('records nothing for a payment routed nowhere (routing already failed it), nor for any other event', async () => {
    expect(await handler.react(routedItem([]), undefined, noTransaction)).toBeUndefined();
    const item = routedItem();
    expect(await handler.react({ ...item, event: { type: 'payment.requested', data: item.payment.request } }, undefined, noTransaction)).toBeUndefined();
  });

  it('crashes loudly when a routed payment reaches react without an outcome (a bug, never a silent skip)', async () => {
    await expect(handler.react(routedItem(), undefined, noTransaction)).rejects.toThrow(/invariant/);
  });
});
