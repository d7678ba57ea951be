import { createHash } from 'node:crypto';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { decodePaymentEvent, encodePaymentEvent, type EnvelopeMeta, type PaymentEventRecord } from '@dirigen/contracts';
import {
  contextFromHeaders,
  currentTraceHeaders,
  eventIdHeader,
  eventTypeHeader,
  paymentEventsTopic,
  PermanentMessageError,
  stageTopicsByEventType,
  type InboundMessage,
  type OutboundMessage,
  type OutboxRelay,
} from '@dirigen/messaging';
import type { ServiceMetrics } from '@dirigen/observability';
import { PgPaymentStates } from '@dirigen/persistence';
import {
  decide,
  evolve,
  initialPaymentState,
  PaymentDomainError,
  type EventContext,
  type Payment,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentEventType,
  type PaymentState,
} from '@dirigen/payments';
import type { DataSource, EntityManager } from 'typeorm';

/** One decoded event on its way through a service, with the payment as it stands after the event. */
export interface ProcessedItem {
  event: PaymentEvent;
  meta: EnvelopeMeta;
  payment: Payment;
  traceContext: Context;
}

export interface PaymentProcessorDefinition<Prepared> {
  /** Consumer group id and inbox name. */
  consumer: string;
  /** The service's schema, holding payment_states, inbox and outbox. */
  schema: string;
  /** Event types this service folds into its state; the consumer acknowledges the rest unread. */
  folds: ReadonlySet<PaymentEventType>;
  /**
   * Where the service's view of a payment comes from:
   * - `stored` (default): its own `payment_states`, read and written with the inbox claim and the
   *   outbox rows in one transaction, so each event's effects happen once.
   * - `carried`: the payment's earlier events that the message carries (`prior`). The service
   *   keeps nothing: it rebuilds the payment, decides, and sends the events it decided straight to
   *   Kafka, each carrying the history on, before the input's offset is committed. No transaction,
   *   no inbox, no outbox. A redelivered input is decided again under the same derived event ids,
   *   and the consumers downstream, which keep state, de-duplicate by event id (see the README's
   *   "No dual write"). For stages whose decision is a pure function of the payment and slowly
   *   changing configuration (fraud rules, routing rules).
   */
  state?: 'stored' | 'carried';
  /**
   * Work done outside the database transaction (a PSP call), keyed by event id. Runs again if
   * the transaction fails or the process dies before it commits, so it must be idempotent.
   */
  prepare?(items: readonly ProcessedItem[]): Promise<Map<string, Prepared>>;
  /** Runs after the transaction committed, with what `prepare` produced (e.g. releasing resources a PSP call held). Best effort, not awaited: it must not throw what matters. */
  afterCommit?(items: readonly ProcessedItem[], prepared: Map<string, Prepared>): Promise<void>;
  /** The command this service decides for the event, if any. Pure apart from reading `manager`. */
  react(item: ProcessedItem, prepared: Prepared | undefined, manager: EntityManager): Promise<PaymentCommand | undefined>;
}

export interface PaymentProcessorPorts {
  dataSource: DataSource;
  relay: OutboxRelay;
  /** Where a `carried` processor sends what it decided: resolves once the broker acknowledged. */
  publish: (messages: readonly OutboundMessage[]) => Promise<void>;
  metrics: ServiceMetrics;
  producerName: string;
  clock?: () => Date;
}

const tracer = trace.getTracer('dirigen.payment-event-processor');

/**
 * The one way a service reacts to payment events: decode, fold the event into the service's
 * view of the payment (`evolve`), ask the domain what follows (`decide`), and record the
 * outcome. A `stored` service commits its new state, the inbox claim and the outbox rows in one
 * transaction (redelivered events are skipped by the inbox, so every effect happens once); a
 * `carried` one keeps no state and publishes directly (see `PaymentProcessorDefinition.state`).
 */
export class PaymentEventProcessor<Prepared = never> {
  private readonly clock: () => Date;
  private readonly store: PgPaymentStates;

  constructor(
    private readonly definition: PaymentProcessorDefinition<Prepared>,
    private readonly ports: PaymentProcessorPorts,
  ) {
    this.clock = ports.clock ?? (() => new Date());
    this.store = new PgPaymentStates(definition.schema);
    if (definition.state === 'carried' && (definition.prepare || definition.afterCommit)) {
      throw new Error('invariant: a carried-state processor has no transaction to prepare for or commit');
    }
  }

  get eventTypes(): ReadonlySet<string> {
    return this.definition.folds;
  }

  readonly handle = async (messages: readonly InboundMessage[]): Promise<void> => {
    const decoded = messages.map(decodeOrDeadLetter);
    if (this.definition.state === 'carried') return this.handleCarried(decoded);
    const paymentIds = decoded.map((item) => item.meta.paymentId);
    const preparedItems = this.definition.prepare ? this.foldInMemory(decoded, await this.store.read<PaymentState>(this.ports.dataSource.manager, paymentIds)) : [];
    const prepared = this.definition.prepare ? await this.definition.prepare(preparedItems) : new Map<string, Prepared>();
    const produced = await this.ports.dataSource.transaction(async (manager) => {
      const { fresh, states } = await this.store.claimAndLock<PaymentState>(manager, this.definition.consumer, decoded.map((item) => item.meta.eventId), paymentIds);
      const outbox: OutboundMessage[] = [];
      for (const item of decoded) {
        if (!fresh.delete(item.meta.eventId)) {
          this.ports.metrics.eventsProcessed.inc({ event_type: item.event.type, result: 'duplicate' });
          continue;
        }
        const { state, outbound } = await this.process(item, states.get(item.meta.paymentId) ?? foldPrior(item), prepared.get(item.meta.eventId), manager);
        states.set(item.meta.paymentId, state);
        outbox.push(...outbound);
      }
      const payments = [...states.values()].flatMap((state) => (state.kind === 'exists' ? [state.payment] : []));
      return this.store.saveWithOutbox(
        manager,
        payments.map((payment) => ({ paymentId: payment.id, merchantId: payment.merchantId, state: { kind: 'exists', payment } })),
        outbox,
      );
    });
    this.ports.relay.publishCommitted(produced);
    // Not awaited: best effort (e.g. releasing security codes, which expire anyway), and the next
    // batch must not wait for it — in the gateway it took as long as the PSP call.
    void this.definition.afterCommit?.(preparedItems, prepared)?.catch(() => undefined);
  };

  /** Every item on its own carried history; what they decide is sent in one request, acknowledged before the consumer commits the input offsets. */
  private async handleCarried(decoded: readonly DecodedMessage[]): Promise<void> {
    const outbound: OutboundMessage[] = [];
    for (const item of decoded) outbound.push(...(await this.process(item, foldPrior(item), undefined, this.ports.dataSource.manager)).outbound);
    await this.ports.publish(outbound);
  }

  /**
   * Folds one event into `state`, asks the service what follows and the domain what that decides.
   * In a `carried` service each decided event carries every earlier one (the input's history, the input, its siblings before it).
   */
  private async process(item: DecodedMessage, state: PaymentState, prepared: Prepared | undefined, manager: EntityManager): Promise<{ state: PaymentState; outbound: OutboundMessage[] }> {
    const carryHistory = this.definition.state === 'carried';
    const parent = contextFromHeaders(item.headers);
    return tracer.startActiveSpan(`process ${item.event.type}`, { kind: SpanKind.CONSUMER, attributes: { 'dirigen.payment_id': item.meta.paymentId } }, parent, async (span) => {
      try {
        let current = foldOne(state, item.event, item.meta);
        const payment = (current as Extract<PaymentState, { kind: 'exists' }>).payment;
        const command = await this.definition.react({ event: item.event, meta: item.meta, payment, traceContext: otelContext.active() }, prepared, manager);
        const outbound: OutboundMessage[] = [];
        const history: PaymentEventRecord[] = carryHistory ? [...item.prior, { event: item.event, meta: item.meta }] : [];
        if (command) {
          const events = decideOrDeadLetter(command, current);
          const occurredAt = this.clock().toISOString();
          events.forEach((event, index) => {
            const meta: EnvelopeMeta = {
              eventId: deriveEventId(this.definition.consumer, item.meta.eventId, index),
              paymentId: item.meta.paymentId,
              merchantId: item.meta.merchantId,
              occurredAt,
              causationId: item.meta.eventId,
              correlationId: item.meta.correlationId,
              producer: this.ports.producerName,
              ...currentTraceFields(),
            };
            current = foldOne(current, event, meta);
            outbound.push(...toOutboundMessages(event, meta, history));
            if (carryHistory) history.push({ event, meta });
          });
        }
        this.ports.metrics.eventsProcessed.inc({ event_type: item.event.type, result: 'handled' });
        this.ports.metrics.eventProcessingSeconds.observe(
          { event_type: item.event.type },
          Math.max(0, (Date.now() - Date.parse(item.meta.occurredAt)) / 1000),
        );
        return { state: current, outbound };
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** The payment as it stands after each item, for `prepare` (which must not hold a transaction). */
  private foldInMemory(decoded: readonly DecodedMessage[], states: Map<string, PaymentState>): ProcessedItem[] {
    return decoded.map((item) => {
      const state = foldOne(states.get(item.meta.paymentId) ?? foldPrior(item), item.event, item.meta);
      states.set(item.meta.paymentId, state);
      return {
        event: item.event,
        meta: item.meta,
        payment: (state as Extract<PaymentState, { kind: 'exists' }>).payment,
        traceContext: contextFromHeaders(item.headers),
      };
    });
  }
}

interface DecodedMessage extends PaymentEventRecord {
  prior: readonly PaymentEventRecord[];
  headers: InboundMessage['headers'];
}

function decodeOrDeadLetter(message: InboundMessage): DecodedMessage {
  try {
    const { event, meta, prior } = decodePaymentEvent(message.value);
    return { event, meta, prior, headers: message.headers };
  } catch (error) {
    throw new PermanentMessageError(`undecodable payment event at ${message.topic}/${message.partition}/${message.offset}`, { cause: error });
  }
}

function decideOrDeadLetter(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  try {
    return decide(command, state);
  } catch (error) {
    if (error instanceof PaymentDomainError) throw new PermanentMessageError(`${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** The payment as the events its message carries leave it (the initial state when it carries none). */
function foldPrior(item: DecodedMessage): PaymentState {
  return item.prior.reduce<PaymentState>((state, earlier) => foldOne(state, earlier.event, earlier.meta), initialPaymentState);
}

function foldOne(state: PaymentState, event: PaymentEvent, meta: EnvelopeMeta): PaymentState {
  const context: EventContext = { paymentId: meta.paymentId, merchantId: meta.merchantId, occurredAt: meta.occurredAt };
  try {
    return evolve(state, event, context);
  } catch (error) {
    if (error instanceof PaymentDomainError) throw new PermanentMessageError(`${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** A stable id for the index-th event a consumer derives from a source event: redelivery yields the same ids. */
export function deriveEventId(consumer: string, sourceEventId: string, index: number): string {
  const hex = createHash('sha256').update(`${consumer}\u0000${sourceEventId}\u0000${index}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The active span's W3C trace context, as envelope fields. */
export function currentTraceFields(): Pick<EnvelopeMeta, 'traceparent' | 'tracestate'> {
  const headers = currentTraceHeaders();
  return { ...(headers.traceparent ? { traceparent: headers.traceparent } : {}), ...(headers.tracestate ? { tracestate: headers.tracestate } : {}) };
}

/**
 * The Kafka messages for an event: one on the full log, and one on its stage topic when a stage
 * acts on it (`stageTopicsByEventType`), which alone carries `prior` (the payment's earlier events,
 * for a stage that keeps no copy of the payment; the log's readers keep their own).
 */
export function toOutboundMessages(event: PaymentEvent, meta: EnvelopeMeta, prior: readonly PaymentEventRecord[] = []): OutboundMessage[] {
  const log = toOutboundMessage(event, meta);
  const stage = stageTopicsByEventType[event.type];
  return stage ? [log, { ...toOutboundMessage(event, meta, prior), topic: stage.name }] : [log];
}

/** The Kafka message for an event on the full log: protobuf envelope (with the earlier events it carries, if any), keyed by payment id, type and id in headers. */
export function toOutboundMessage(event: PaymentEvent, meta: EnvelopeMeta, prior: readonly PaymentEventRecord[] = []): OutboundMessage {
  const headers: Record<string, string> = { [eventTypeHeader]: event.type, [eventIdHeader]: meta.eventId };
  if (meta.traceparent) headers.traceparent = meta.traceparent;
  if (meta.tracestate) headers.tracestate = meta.tracestate;
  return { topic: paymentEventsTopic.name, key: meta.paymentId, value: Buffer.from(encodePaymentEvent(event, meta, prior)), headers };
}
