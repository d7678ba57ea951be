import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import type { PaymentEvent, PaymentEventType } from '@dirigen/payments';
import { ContractError } from './contract-error';
import { EnvelopeSchema, type Envelope } from './gen/dirigen/events/v1/envelope_pb';
import { payloadFromProto, payloadToProto } from './payment-event.transformers';

/** The Envelope schema version this build writes, and the only one it reads. */
export const paymentEventSchemaVersion = 1;

/** Everything in an Envelope besides the event itself. */
export interface EnvelopeMeta {
  eventId: string;
  paymentId: string;
  merchantId: string;
  /** ISO 8601 with an offset. Decoding returns it as `Date.toISOString()` (UTC, millisecond precision). */
  occurredAt: string;
  causationId?: string;
  correlationId: string;
  producer: string;
  traceparent?: string;
  tracestate?: string;
}

/** One event with its envelope facts. */
export interface PaymentEventRecord {
  event: PaymentEvent;
  meta: EnvelopeMeta;
}

export interface DecodedPaymentEvent extends PaymentEventRecord {
  schemaVersion: number;
  /** The payment's earlier events the producer carried along (oldest first), for a consumer that keeps no copy of the payment. */
  prior: PaymentEventRecord[];
}

/** Most earlier events one envelope carries: a payment's whole pipeline is a handful, so more is a bug upstream. */
export const priorEventsMax = 16;

/**
 * Throws ContractError `malformed` for anything a consumer would reject: a producer never writes what it cannot read.
 * `prior`: the payment's earlier events to carry along (see `DecodedPaymentEvent.prior`).
 */
export function encodePaymentEvent(event: PaymentEvent, meta: EnvelopeMeta, prior: readonly PaymentEventRecord[] = []): Uint8Array {
  checkPriorCount(prior.length);
  const envelope = envelopeOf(event, meta);
  envelope.prior = prior.map((earlier) => {
    checkSamePayment(earlier.meta, meta);
    return envelopeOf(earlier.event, earlier.meta);
  });
  return toBinary(EnvelopeSchema, envelope);
}

function envelopeOf(event: PaymentEvent, meta: EnvelopeMeta): Envelope {
  return create(EnvelopeSchema, {
    eventId: required('eventId', meta.eventId),
    eventType: event.type,
    schemaVersion: paymentEventSchemaVersion,
    paymentId: required('paymentId', meta.paymentId),
    merchantId: required('merchantId', meta.merchantId),
    occurredAt: timestampFromIso(meta.occurredAt),
    causationId: meta.causationId ?? '',
    correlationId: required('correlationId', meta.correlationId),
    producer: required('producer', meta.producer),
    trace:
      meta.traceparent === undefined && meta.tracestate === undefined
        ? undefined
        : { traceparent: meta.traceparent ?? '', tracestate: meta.tracestate ?? '' },
    payload: payloadToProto(event),
  });
}

/**
 * Throws ContractError: `malformed` (not an Envelope, or invalid content), `unsupported_schema_version`,
 * or `unknown_event_type` (a payload this build does not know). None of them is worth a retry.
 */
export function decodePaymentEvent(bytes: Uint8Array): DecodedPaymentEvent {
  const envelope = parseEnvelope(bytes);
  // The version comes first: it decides how the rest of the Envelope is read.
  const schemaVersion = supportedSchemaVersion(envelope.schemaVersion);
  const meta = metaFromEnvelope(envelope);
  const event = eventFromEnvelope(envelope);
  checkPriorCount(envelope.prior.length);
  const prior = envelope.prior.map((earlier) => {
    if (earlier.prior.length > 0) throw new ContractError('malformed', 'a prior event carries prior events of its own');
    const record = { event: eventFromEnvelope(earlier), meta: metaFromEnvelope(earlier) };
    checkSamePayment(record.meta, meta);
    return record;
  });
  return { event, meta, schemaVersion, prior };
}

// The rules of `prior`, checked alike when writing and when reading.
function checkPriorCount(count: number): void {
  if (count > priorEventsMax) throw new ContractError('malformed', `${count} prior events exceed ${priorEventsMax}`);
}

function checkSamePayment(earlier: EnvelopeMeta, event: EnvelopeMeta): void {
  if (earlier.paymentId !== event.paymentId) throw new ContractError('malformed', `a prior event of ${earlier.paymentId} on an event of ${event.paymentId}`);
}

function parseEnvelope(bytes: Uint8Array): Envelope {
  try {
    return fromBinary(EnvelopeSchema, bytes);
  } catch (error) {
    throw new ContractError('malformed', `not a protobuf Envelope: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function supportedSchemaVersion(version: number): number {
  // 0 is proto3's "not set": missing, not a version.
  if (version === 0) throw new ContractError('malformed', 'schema_version is missing');
  if (version !== paymentEventSchemaVersion) {
    throw new ContractError('unsupported_schema_version', `schema_version ${version} is not supported (this build reads ${paymentEventSchemaVersion})`);
  }
  return version;
}

function metaFromEnvelope(envelope: Envelope): EnvelopeMeta {
  return {
    eventId: required('event_id', envelope.eventId),
    paymentId: required('payment_id', envelope.paymentId),
    merchantId: required('merchant_id', envelope.merchantId),
    occurredAt: isoFromTimestamp(envelope.occurredAt),
    ...(envelope.causationId === '' ? {} : { causationId: envelope.causationId }),
    correlationId: required('correlation_id', envelope.correlationId),
    producer: required('producer', envelope.producer),
    ...(envelope.trace === undefined || envelope.trace.traceparent === '' ? {} : { traceparent: envelope.trace.traceparent }),
    ...(envelope.trace === undefined || envelope.trace.tracestate === '' ? {} : { tracestate: envelope.trace.tracestate }),
  };
}

// Event types this build knows. Keyed by the domain union, so a new event type fails to compile until listed.
const knownEventTypes: Record<PaymentEventType, true> = {
  'payment.requested': true,
  'payment.risk_assessed': true,
  'payment.routed': true,
  'payment.attempt_completed': true,
  'payment.authorized': true,
  'payment.succeeded': true,
  'payment.failed': true,
};

function eventFromEnvelope(envelope: Envelope): PaymentEvent {
  const event = payloadFromProto(envelope.payload);
  if (event === undefined) {
    // No payload case this build knows. A known or empty event_type means the payload is missing;
    // an event_type we have never heard of means a newer producer.
    if (envelope.eventType === '' || Object.hasOwn(knownEventTypes, envelope.eventType)) {
      throw new ContractError('malformed', `payload is missing (event_type "${envelope.eventType}")`);
    }
    throw new ContractError('unknown_event_type', `event_type "${envelope.eventType}" is not one this build knows`);
  }
  if (event.type !== envelope.eventType) {
    throw new ContractError('malformed', `event_type "${envelope.eventType}" does not match the payload (${event.type})`);
  }
  return event;
}

function required(field: string, value: string): string {
  if (value === '') throw new ContractError('malformed', `${field} is required`);
  return value;
}

// Date-time with an explicit offset: a zone-less string would be read in the producer's local time.
const isoDateTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function timestampFromIso(iso: string): Timestamp {
  const date = new Date(iso);
  if (!isoDateTimePattern.test(iso) || Number.isNaN(date.getTime())) {
    throw new ContractError('malformed', `occurredAt must be an ISO 8601 date-time with offset, got "${iso}"`);
  }
  return timestampFromDate(date);
}

function isoFromTimestamp(timestamp: Timestamp | undefined): string {
  if (timestamp === undefined) throw new ContractError('malformed', 'occurred_at is missing');
  const date = timestampDate(timestamp);
  // Outside Date's range (±8.64e15 ms) toISOString would throw a RangeError.
  if (Number.isNaN(date.getTime())) throw new ContractError('malformed', `occurred_at ${timestamp.seconds}s is out of range`);
  return date.toISOString();
}
