import { ROOT_CONTEXT } from '@opentelemetry/api';
import { ConnectorError, type AttemptResult, type AuthorizeRequest, type PaymentConnector } from '@dirigen/connectors';
import type { AttemptOutcome, RoutingDecision } from '@dirigen/payments';
import type { ProcessedItem } from '@dirigen/service-kit';
import { cardPaymentRequested, foldPayment, newPaymentRef, withMeta } from '@dirigen/testing';
import { VaultUnavailableError, type DetokenizeResult } from '@dirigen/vault-client';
import { describe, expect, it } from 'vitest';
import { attemptIdFor, AuthorizationRunner, type GatewayVault } from './authorization-runner';

// The gateway's authorization decisions, without I/O: a connector and a vault in memory.

const visa = { number: '4242424242424242', expMonth: 12, expYear: 2034, cvc: '123' }; // never checked against a clock here

/** A connector that answers what the test says and remembers every request. */
class RecordingConnector implements PaymentConnector {
  readonly name = 'stripe';
  readonly capabilities = { methods: ['card'], currencies: [], manualCapture: true };
  readonly requests: AuthorizeRequest[] = [];
  readonly inquiries: string[] = [];
  constructor(
    private readonly answer: (request: AuthorizeRequest) => AttemptResult,
    private readonly earlierAttempts = new Map<string, AttemptResult>(),
  ) {}
  async findAttempt(attemptId: string): Promise<AttemptResult | undefined> {
    this.inquiries.push(attemptId);
    return this.earlierAttempts.get(attemptId);
  }
  async authorize(request: AuthorizeRequest): Promise<AttemptResult> {
    this.requests.push(request);
    return this.answer(request);
  }
  async retrieve(): Promise<AttemptResult> {
    throw new ConnectorError('unsupported', this.name, 'not used here');
  }
}

/** A vault that answers one card (or a refusal) for every token, and remembers releases. */
class MemoryVault implements GatewayVault {
  readonly released: { merchantId: string; token: string; paymentId?: string }[] = [];
  /** How many cards each batch call asked for. */
  readonly batches: number[] = [];
  constructor(private readonly answer: () => Promise<DetokenizeResult>) {}
  async detokenizeBatch(requests: readonly unknown[]): Promise<DetokenizeResult[]> {
    this.batches.push(requests.length);
    return Promise.all(requests.map(() => this.answer()));
  }
  async releaseSecurityCodes(requests: readonly { merchantId: string; token: string; paymentId?: string }[]): Promise<void> {
    this.released.push(...requests);
  }
}

const holdsVisa = () => new MemoryVault(async () => ({ ok: true, card: visa }));

function routedItem(candidates: RoutingDecision['candidates'] = [{ connector: 'stripe', score: 1 }]): ProcessedItem {
  const payment = newPaymentRef('mer_gateway_unit');
  const requested = withMeta(payment, { type: 'payment.requested', data: cardPaymentRequested({ description: 'order 7', metadata: { order_id: '7' } }) });
  const routed = withMeta(payment, { type: 'payment.routed', data: { strategy: 'priority', rule: 'r', candidates, excluded: [] } }, requested.meta.eventId);
  return { event: routed.event, meta: routed.meta, payment: foldPayment([requested, routed]), traceContext: ROOT_CONTEXT };
}

async function authorizeOne(connector: PaymentConnector, vault: GatewayVault, item = routedItem()): Promise<AttemptOutcome> {
  const outcomes = await new AuthorizationRunner(new Map([[connector.name, connector]]), vault).run([item]);
  return outcomes.get(item.meta.eventId)!;
}

describe('gateway: authorizing a routed payment', () => {
  it('sends the detokenized card to the first candidate with the deterministic attempt id, and records the capture', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspReference: 'pi_1', pspLatencyMs: 12.6 }));
    const item = routedItem();
    const outcome = await authorizeOne(connector, holdsVisa(), item);
    expect(outcome).toEqual({ attemptId: attemptIdFor(item.meta.eventId, 0), connector: 'stripe', status: 'captured', pspReference: 'pi_1', latencyMs: 13 });
    expect(connector.requests).toEqual([
      {
        attemptId: outcome.attemptId,
        paymentId: item.payment.id,
        merchantId: 'mer_gateway_unit',
        amount: { amountMinor: 2_000, currency: 'USD' },
        captureMethod: 'automatic',
        card: visa,
        description: 'order 7',
        metadata: { order_id: '7' },
      },
    ]);
  });

  it("records the PSP's own processing time beside the call time when the connector has it, and leaves it absent when not", async () => {
    const reported = await authorizeOne(new RecordingConnector(() => ({ status: 'captured', pspReference: 'pi_1', pspLatencyMs: 57.4, pspProcessingMs: 50.3 })), holdsVisa());
    expect(reported).toMatchObject({ latencyMs: 57, pspProcessingMs: 50.3 });
    const unreported = await authorizeOne(new RecordingConnector(() => ({ status: 'captured', pspReference: 'pi_2', pspLatencyMs: 57.4 })), holdsVisa());
    expect(unreported).not.toHaveProperty('pspProcessingMs');
  });

  it("keeps a decline's code and kind, so failover can tell hard from soft", async () => {
    const hard = new RecordingConnector(() => ({ status: 'declined', failureCode: 'card_declined', failureMessage: 'Your card was declined.', failureKind: 'hard_decline', pspReference: 'pi_2', pspLatencyMs: 5 }));
    expect(await authorizeOne(hard, holdsVisa())).toMatchObject({ status: 'declined', failureCode: 'card_declined', failureKind: 'hard_decline', pspReference: 'pi_2' });
    const soft = new RecordingConnector(() => ({ status: 'failed', failureCode: 'processing_error', failureMessage: 'Try again.', failureKind: 'soft_decline', pspLatencyMs: 5 }));
    expect(await authorizeOne(soft, holdsVisa())).toMatchObject({ status: 'failed', failureCode: 'processing_error', failureKind: 'soft_decline' });
  });

  it('records an unknown PSP outcome as unknown, never as a decline', async () => {
    const connector = new RecordingConnector(() => ({ status: 'unknown', failureCode: 'psp_timeout', failureMessage: 'Stripe did not answer in time.', failureKind: 'unknown_outcome', pspLatencyMs: 2_000 }));
    expect(await authorizeOne(connector, holdsVisa())).toMatchObject({ status: 'unknown', failureKind: 'unknown_outcome', failureCode: 'psp_timeout' });
  });

  it('fails the attempt with cvc_expired, without an authorization, when the vault lost the security code and the PSP never saw the attempt', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }));
    const vault = new MemoryVault(async () => ({ ok: false, code: 'cvc_expired', message: 'The card security code expired before authorization; the customer must enter it again.' }));
    const item = routedItem();
    expect(await authorizeOne(connector, vault, item)).toMatchObject({ status: 'failed', failureCode: 'cvc_expired', failureKind: 'hard_decline', connector: 'stripe' });
    expect(connector.requests).toEqual([]);
    expect(connector.inquiries).toEqual([attemptIdFor(item.meta.eventId, 0)]);
  });

  it('records the charge the PSP already made when the security code is gone: a lost code never turns a charge into a decline', async () => {
    const item = routedItem();
    const attemptId = attemptIdFor(item.meta.eventId, 0);
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }), new Map([[attemptId, { status: 'captured', pspReference: 'pi_earlier', pspLatencyMs: 8 }]]));
    const vault = new MemoryVault(async () => ({ ok: false, code: 'cvc_expired', message: 'gone' }));
    expect(await authorizeOne(connector, vault, item)).toEqual({ attemptId, connector: 'stripe', status: 'captured', pspReference: 'pi_earlier', latencyMs: 8 });
    expect(connector.requests).toEqual([]);
  });

  it('fails the attempt with token_not_found, without calling the PSP, when the vault has no such card', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }));
    const vault = new MemoryVault(async () => ({ ok: false, code: 'token_not_found', message: 'The card token does not exist for this merchant.' }));
    expect(await authorizeOne(connector, vault)).toMatchObject({ status: 'failed', failureCode: 'token_not_found', failureKind: 'hard_decline' });
    expect(connector.requests).toEqual([]);
    expect(connector.inquiries).toEqual([]);
  });

  it('throws when the vault is unavailable, so the event is retried instead of the payment failing', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }));
    const vault = new MemoryVault(async () => Promise.reject(new VaultUnavailableError('unreachable', 'vault Detokenize: connection refused')));
    await expect(authorizeOne(connector, vault)).rejects.toBeInstanceOf(VaultUnavailableError);
    expect(connector.requests).toEqual([]);
  });

  it('fails the attempt as retryable when the first candidate is a connector this gateway does not have', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }));
    expect(await authorizeOne(connector, holdsVisa(), routedItem([{ connector: 'adyen', score: 1 }]))).toMatchObject({
      status: 'failed',
      connector: 'adyen',
      failureCode: 'connector_not_configured',
      failureKind: 'retryable',
    });
  });

  it("turns a connector's refusal (credentials, our own bad request) into a failed attempt with its code", async () => {
    const refusedKey = new RecordingConnector(() => {
      throw new ConnectorError('authentication', 'stripe', 'Stripe refused the credentials (HTTP 401)');
    });
    expect(await authorizeOne(refusedKey, holdsVisa())).toMatchObject({ status: 'failed', failureCode: 'connector_authentication', failureKind: 'authentication' });
    const reusedKey = new RecordingConnector(() => {
      throw new ConnectorError('invalid_request', 'stripe', 'Stripe refused a reused idempotency key (attemptId)');
    });
    expect(await authorizeOne(reusedKey, holdsVisa())).toMatchObject({ status: 'failed', failureCode: 'connector_invalid_request', failureKind: 'invalid_request' });
  });

  it('authorizes only routed payments still processing: not a request, not a payment already final', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }));
    const routed = routedItem();
    const requested: ProcessedItem = { ...routed, event: { type: 'payment.requested', data: routed.payment.request }, meta: { ...routed.meta, eventId: 'evt_requested' } };
    const final: ProcessedItem = { ...routedItem(), payment: { ...routed.payment, status: 'succeeded' } };
    const outcomes = await new AuthorizationRunner(new Map([['stripe', connector]]), holdsVisa()).run([requested, final, routed]);
    expect([...outcomes.keys()]).toEqual([routed.meta.eventId]);
    expect(connector.requests).toHaveLength(1);
  });

  it('asks the vault for the cards of a whole batch in one call', async () => {
    const connector = new RecordingConnector(() => ({ status: 'captured', pspLatencyMs: 1 }));
    const vault = holdsVisa();
    const items = [routedItem(), routedItem(), routedItem()];
    const outcomes = await new AuthorizationRunner(new Map([['stripe', connector]]), vault).run(items);
    expect(vault.batches).toEqual([3]);
    expect([...outcomes.values()].map((outcome) => outcome.status)).toEqual(['captured', 'captured', 'captured']);
    expect(connector.requests).toHaveLength(3);
  });

  it('derives one attempt id per routed event and candidate: the same on redelivery, another for another event', () => {
    expect(attemptIdFor('evt_1', 0)).toBe(attemptIdFor('evt_1', 0));
    expect(attemptIdFor('evt_1', 0)).toMatch(/^att_[\w-]{24}$/);
    expect(new Set([attemptIdFor('evt_1', 0), attemptIdFor('evt_1', 1), attemptIdFor('evt_2', 0)]).size).toBe(3);
  });
});

describe('gateway: after the outcome is recorded', () => {
  it("lets the vault erase the security code of a final outcome, and keeps it for an unknown one (the inquiry may resend)", async () => {
    const vault = holdsVisa();
    const [final, unknown] = [routedItem(), routedItem()];
    const outcome = (status: AttemptOutcome['status']): AttemptOutcome => ({ attemptId: 'att_x', connector: 'stripe', status, latencyMs: 1 });
    await new AuthorizationRunner(new Map(), vault).releaseSecurityCodes(
      [final, unknown],
      new Map([
        [final.meta.eventId, outcome('declined')],
        [unknown.meta.eventId, outcome('unknown')],
      ]),
    );
    expect(vault.released).toEqual([{ merchantId: 'mer_gateway_unit', token: final.payment.request.paymentMethod.card!.token, paymentId: final.payment.id }]);
  });
});
