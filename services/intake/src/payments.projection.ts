import { decodePaymentEvent } from '@dirigen/contracts';
import { contextFromHeaders, PermanentMessageError, type InboundMessage } from '@dirigen/messaging';
import type { ServiceMetrics } from '@dirigen/observability';
import { evolve, initialPaymentState, PaymentDomainError, paymentEventTypes, type Payment, type PaymentState } from '@dirigen/payments';
import { SpanKind, trace } from '@opentelemetry/api';
import type { DataSource } from 'typeorm';
import type { PaymentsReadModel, RecordedEvent } from './payments.read-model';

const tracer = trace.getTracer('dirigen.intake.projection');

/**
 * Folds every payment event into the read model and the timeline, once per event (inbox),
 * and notifies waiting requests of each payment whose status changed.
 */
export class PaymentsProjection {
  readonly eventTypes: ReadonlySet<string> = new Set(paymentEventTypes);

  constructor(
    private readonly dataSource: DataSource,
    private readonly readModel: PaymentsReadModel,
    private readonly metrics: ServiceMetrics,
  ) {}

  readonly handle = async (messages: readonly InboundMessage[]): Promise<void> => {
    const decoded = messages.map((message) => {
      try {
        return { ...decodePaymentEvent(message.value), headers: message.headers };
      } catch (error) {
        throw new PermanentMessageError(`undecodable payment event at ${message.topic}/${message.partition}/${message.offset}`, { cause: error });
      }
    });
    await this.dataSource.transaction(async (manager) => {
      const { fresh, states } = await this.readModel.claimAndLock(
        manager,
        decoded.map((item) => item.meta.eventId),
        decoded.map((item) => item.meta.paymentId),
      );
      const statusBefore = new Map([...states].map(([id, state]) => [id, state.kind === 'exists' ? state.payment.status : undefined]));
      const timeline: RecordedEvent[] = [];
      for (const item of decoded) {
        if (!fresh.delete(item.meta.eventId)) continue;
        const span = tracer.startSpan(`project ${item.event.type}`, { kind: SpanKind.CONSUMER }, contextFromHeaders(item.headers));
        try {
          states.set(item.meta.paymentId, fold(states.get(item.meta.paymentId) ?? initialPaymentState, item));
        } finally {
          span.end();
        }
        timeline.push({ eventId: item.meta.eventId, paymentId: item.meta.paymentId, event: item.event, occurredAt: item.meta.occurredAt });
      }
      const payments = [...states.values()].flatMap((state) => (state.kind === 'exists' ? [state.payment] : []));
      const changed = payments.filter((payment) => statusBefore.get(payment.id) !== payment.status);
      // The NOTIFY is delivered on commit, to every intake replica; the one holding the request answers it.
      await this.readModel.saveProjection(manager, payments, timeline, changed);
      for (const payment of changed) this.observe(payment);
    });
  };

  private observe(payment: Payment): void {
    this.metrics.paymentsTotal.inc({ status: payment.status });
    this.metrics.paymentLatencySeconds.observe({ status: payment.status }, Math.max(0, (Date.parse(payment.updatedAt) - Date.parse(payment.createdAt)) / 1000));
  }
}

function fold(state: PaymentState, item: ReturnType<typeof decodePaymentEvent>): PaymentState {
  try {
    return evolve(state, item.event, { paymentId: item.meta.paymentId, merchantId: item.meta.merchantId, occurredAt: item.meta.occurredAt });
  } catch (error) {
    if (error instanceof PaymentDomainError) throw new PermanentMessageError(`${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
}
