import { createHash } from 'node:crypto';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { ConnectorError, type AttemptResult, type PaymentConnector } from '@dirigen/connectors';
import type { AttemptOutcome } from '@dirigen/payments';
import type { ProcessedItem } from '@dirigen/service-kit';
import { vaultBatchRequestsMax, type DetokenizeResult, type VaultClient } from '@dirigen/vault-client';

/** What the gateway asks of the card vault: the gRPC `VaultClient` in production. */
export type GatewayVault = Pick<VaultClient, 'detokenizeBatch' | 'releaseSecurityCodes'>;

/** PSP calls in flight at once from one gateway replica. */
export const authorizationsInFlightMax = 256;

const tracer = trace.getTracer('dirigen.gateway');

/** The attempt id for the first attempt of a routed payment: the same on redelivery, so the PSP replays instead of charging twice. */
export function attemptIdFor(routedEventId: string, candidateIndex: number): string {
  return `att_${createHash('sha256').update(`${routedEventId}:${candidateIndex}`).digest('base64url').slice(0, 24)}`;
}

/**
 * Authorizes routed payments at their first candidate connector: detokenize, call the PSP,
 * turn the answer into an attempt outcome. Runs outside any database transaction; repeating
 * it for the same event repeats the same attempt id, which the PSP de-duplicates.
 */
export class AuthorizationRunner {
  constructor(
    private readonly connectors: ReadonlyMap<string, PaymentConnector>,
    private readonly vault: GatewayVault,
  ) {}

  async run(items: readonly ProcessedItem[]): Promise<Map<string, AttemptOutcome>> {
    const routed = items.filter((item) => item.event.type === 'payment.routed' && item.payment.status === 'processing');
    const outcomes = new Map<string, AttemptOutcome>();
    for (let start = 0; start < routed.length; start += authorizationsInFlightMax) {
      const slice = routed.slice(start, start + authorizationsInFlightMax);
      // One vault call for the slice's cards (a payment without a card needs none).
      const carded = slice.filter((item) => item.payment.request.paymentMethod.card !== undefined);
      const detokenized = await this.detokenize(carded);
      const cards = new Map(carded.map((item, index) => [item, detokenized[index]!]));
      const results = await Promise.all(slice.map((item) => context.with(item.traceContext, () => this.authorize(item, cards.get(item)))));
      slice.forEach((item, index) => outcomes.set(item.meta.eventId, results[index]!));
    }
    return outcomes;
  }

  /**
   * The cards of `items`, in one vault call. Its span (and the gRPC call's under it) belongs to the
   * first payment's trace and links every payment's, as OpenTelemetry models one operation done for
   * many: a payment alone (the common case when idle) sees its whole path in its own trace.
   */
  private async detokenize(items: readonly ProcessedItem[]): Promise<DetokenizeResult[]> {
    if (items.length === 0) return [];
    if (items.length > vaultBatchRequestsMax) throw new Error(`invariant: ${items.length} cards exceed the vault's batch of ${vaultBatchRequestsMax}; authorizationsInFlightMax must not`);
    const links = items.map((item) => trace.getSpanContext(item.traceContext)).flatMap((spanContext) => (spanContext ? [{ context: spanContext }] : []));
    return tracer.startActiveSpan('vault detokenize batch', { kind: SpanKind.INTERNAL, links, attributes: { 'dirigen.batch_size': items.length } }, items[0]!.traceContext, async (span) => {
      try {
        return await this.vault.detokenizeBatch(
          items.map(({ payment }) => ({ merchantId: payment.merchantId, token: payment.request.paymentMethod.card!.token, paymentId: payment.id, purpose: 'authorization' })),
        );
      } finally {
        span.end();
      }
    });
  }

  /**
   * Once outcomes are recorded, the vault may erase the card security codes they used. An
   * unknown outcome keeps its code until expiry: the status inquiry may need to resend.
   * Failing to release is logged by the caller and harmless: the vault's expiry erases it.
   */
  async releaseSecurityCodes(items: readonly ProcessedItem[], outcomes: Map<string, AttemptOutcome>): Promise<void> {
    const releases = items.flatMap((item) => {
      const outcome = outcomes.get(item.meta.eventId);
      const token = item.payment.request.paymentMethod.card?.token;
      return outcome && outcome.status !== 'unknown' && token ? [{ merchantId: item.payment.merchantId, token, paymentId: item.payment.id }] : [];
    });
    for (let start = 0; start < releases.length; start += vaultBatchRequestsMax) {
      await this.vault.releaseSecurityCodes(releases.slice(start, start + vaultBatchRequestsMax)).catch(() => undefined);
    }
  }

  /** `detokenized`: the vault's answer for the payment's card (undefined for a payment without one). */
  private async authorize(item: ProcessedItem, detokenized: DetokenizeResult | undefined): Promise<AttemptOutcome> {
    const { payment, meta } = item;
    const candidate = payment.routing!.candidates[0]!;
    const attemptId = attemptIdFor(meta.eventId, 0);
    const connector = this.connectors.get(candidate.connector);
    if (!connector) {
      return { attemptId, connector: candidate.connector, status: 'failed', failureCode: 'connector_not_configured', failureMessage: `The gateway has no ${candidate.connector} connector configured.`, failureKind: 'retryable', latencyMs: 0 };
    }
    return tracer.startActiveSpan(`authorize ${connector.name}`, { kind: SpanKind.INTERNAL, attributes: { 'dirigen.payment_id': payment.id, 'dirigen.attempt_id': attemptId } }, async (span): Promise<AttemptOutcome> => {
      const startedAt = performance.now();
      try {
        if (!detokenized) throw new ConnectorError('unsupported', connector.name, `payment method ${payment.request.paymentMethod.type} is not supported yet`);
        if (!detokenized.ok) {
          // The code is gone, but this attempt may already have reached the PSP (a replica that died after
          // the PSP answered, the code then lost with a PostgreSQL crash or released by the replica that
          // finished it): ask the PSP for the attempt before failing the payment, so a charge is never
          // recorded as a decline. Repeating the call without the code would be another request body.
          const earlier = detokenized.code === 'cvc_expired' ? await connector.findAttempt(attemptId) : undefined;
          if (earlier) {
            span.setAttribute('dirigen.attempt_found_by_inquiry', true);
            return toAttemptOutcome(attemptId, connector.name, earlier);
          }
          return { attemptId, connector: connector.name, status: 'failed', failureCode: detokenized.code, failureMessage: detokenized.message, failureKind: 'hard_decline', latencyMs: elapsed(startedAt) };
        }
        const result = await connector.authorize({
          attemptId,
          paymentId: payment.id,
          merchantId: payment.merchantId,
          amount: payment.request.amount,
          captureMethod: payment.request.captureMethod,
          card: detokenized.card,
          description: payment.request.description,
          metadata: payment.request.metadata,
        });
        span.setAttribute('dirigen.attempt_status', result.status);
        return toAttemptOutcome(attemptId, connector.name, result);
      } catch (error) {
        if (!(error instanceof ConnectorError)) throw error;
        return { attemptId, connector: connector.name, status: 'failed', failureCode: `connector_${error.code}`, failureMessage: error.message, failureKind: error.code === 'authentication' ? 'authentication' : 'invalid_request', latencyMs: elapsed(startedAt) };
      } finally {
        span.end();
      }
    });
  }
}

/** A connector's result as the attempt outcome the domain records. */
function toAttemptOutcome(attemptId: string, connector: string, result: AttemptResult): AttemptOutcome {
  return {
    attemptId,
    connector,
    status: result.status,
    latencyMs: Math.round(result.pspLatencyMs),
    ...(result.pspProcessingMs === undefined ? {} : { pspProcessingMs: result.pspProcessingMs }),
    ...(result.pspReference ? { pspReference: result.pspReference } : {}),
    ...(result.failureCode ? { failureCode: result.failureCode } : {}),
    ...(result.failureMessage ? { failureMessage: result.failureMessage } : {}),
    ...(result.failureKind ? { failureKind: result.failureKind } : {}),
  };
}

function elapsed(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}
