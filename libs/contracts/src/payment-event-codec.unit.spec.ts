import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import type { AttemptStatus, CaptureMethod, PaymentEvent, PaymentEventType, RiskDecision } from '@dirigen/payments';
import { describe, expect, it } from 'vitest';
import { EnvelopeSchema, type Envelope } from './gen/dirigen/events/v1/envelope_pb';
import * as proto from './gen/dirigen/events/v1/payment_events_pb';
import {
  ContractError,
  decodePaymentEvent,
  encodePaymentEvent,
  priorEventsMax,
  type ContractErrorCode,
  type EnvelopeMeta,
} from './index';

const fullMeta: EnvelopeMeta = {
  eventId: 'evt_01HZX3',
  paymentId: 'pay_01HZX1',
  merchantId: 'mer_acme',
  occurredAt: '2025-03-14T09:26:53.589Z',
  causationId: 'evt_01HZX2',
  correlationId: 'evt_01HZX0',
  producer: 'payment-service',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'dirigen=1',
};

const minimalMeta: EnvelopeMeta = {
  eventId: 'evt_01HZX0',
  paymentId: 'pay_01HZX1',
  merchantId: 'mer_acme',
  occurredAt: '2025-03-14T09:26:53.000Z',
  correlationId: 'evt_01HZX0',
  producer: 'payment-service',
};

const card = { token: 'tok_9f8e', brand: 'visa', last4: '4242', bin: '424242', expMonth: 12, expYear: 2030, fingerprint: 'fp_3c1d' };

const fullEvents: Record<PaymentEventType, PaymentEvent> = {
  'payment.requested': {
    type: 'payment.requested',
    data: {
      amount: { amountMinor: 150_000_00, currency: 'IDR' },
      captureMethod: 'manual',
      paymentMethod: { type: 'card', card, provider: 'visa-net' },
      customer: { email: 'ana@example.com', ip: '203.0.113.7', country: 'ID' },
      description: 'Order #1042',
      metadata: { orderId: '1042', channel: 'web' },
    },
  },
  'payment.risk_assessed': {
    type: 'payment.risk_assessed',
    data: {
      score: 35,
      decision: 'review',
      reasons: [
        { code: 'velocity', message: '3 payments in 1 minute', scoreContribution: 20 },
        { code: 'ip_country_mismatch', message: 'IP in SG, card in ID', scoreContribution: 15 },
      ],
    },
  },
  'payment.routed': {
    type: 'payment.routed',
    data: {
      strategy: 'rules_then_score',
      rule: 'idr-cards-to-xendit',
      candidates: [
        { connector: 'xendit', score: 0.92 },
        { connector: 'midtrans', score: 0.81 },
      ],
      excluded: [{ connector: 'stripe', reason: 'currency_unsupported' }],
    },
  },
  'payment.attempt_completed': {
    type: 'payment.attempt_completed',
    data: {
      attemptId: 'att_1',
      connector: 'xendit',
      status: 'declined',
      failureCode: 'insufficient_funds',
      failureMessage: 'Insufficient funds',
      failureKind: 'soft_decline',
      latencyMs: 412,
      pspProcessingMs: 398.4,
      pspReference: 'xnd_77aa',
    },
  },
  'payment.authorized': { type: 'payment.authorized', data: { amountCapturable: { amountMinor: 150_000_00, currency: 'IDR' }, connector: 'xendit' } },
  'payment.succeeded': { type: 'payment.succeeded', data: { amountCaptured: { amountMinor: 1999, currency: 'USD' }, connector: 'stripe' } },
  'payment.failed': { type: 'payment.failed', data: { failureCode: 'all_connectors_failed', failureMessage: 'No connector accepted the payment' } },
};

// Every optional field absent, every list empty.
const minimalEvents: Record<PaymentEventType, PaymentEvent> = {
  'payment.requested': {
    type: 'payment.requested',
    data: { amount: { amountMinor: 0, currency: 'JPY' }, captureMethod: 'automatic', paymentMethod: { type: 'qris' }, metadata: {} },
  },
  'payment.risk_assessed': { type: 'payment.risk_assessed', data: { score: 0, decision: 'approve', reasons: [] } },
  'payment.routed': { type: 'payment.routed', data: { strategy: 'single', rule: 'default', candidates: [], excluded: [] } },
  'payment.attempt_completed': {
    type: 'payment.attempt_completed',
    data: { attemptId: 'att_1', connector: 'xendit', status: 'captured', latencyMs: 0 },
  },
  'payment.authorized': { type: 'payment.authorized', data: { amountCapturable: { amountMinor: 1, currency: 'EUR' }, connector: 'adyen' } },
  'payment.succeeded': { type: 'payment.succeeded', data: { amountCaptured: { amountMinor: 1, currency: 'EUR' }, connector: 'adyen' } },
  'payment.failed': { type: 'payment.failed', data: { failureCode: 'declined', failureMessage: 'Declined' } },
};

// The plain-object form of an Envelope init (not an Envelope message itself), so tests can override single fields.
type EnvelopeInit = Exclude<MessageInitShape<typeof EnvelopeSchema>, Envelope>;

/** A raw Envelope as some other producer could write it: valid header fields, payload and overrides chosen by the test. */
function rawEnvelope(overrides: EnvelopeInit): Uint8Array {
  return toBinary(
    EnvelopeSchema,
    create(EnvelopeSchema, {
      eventId: 'evt_1',
      eventType: 'payment.failed',
      schemaVersion: 1,
      paymentId: 'pay_1',
      merchantId: 'mer_1',
      occurredAt: { seconds: 1_700_000_000n, nanos: 0 },
      correlationId: 'evt_1',
      producer: 'test',
      payload: { case: 'paymentFailed', value: { failureCode: 'declined', failureMessage: 'Declined' } },
      ...overrides,
    }),
  );
}

function attemptEnvelope(value: MessageInitShape<typeof proto.PaymentAttemptCompletedSchema>): Uint8Array {
  return rawEnvelope({
    eventType: 'payment.attempt_completed',
    payload: { case: 'paymentAttemptCompleted', value: { attemptId: 'att_1', connector: 'xendit', latencyMs: 10, ...value } },
  });
}

function contractErrorOf(action: () => unknown): { code: ContractErrorCode; message: string } {
  try {
    action();
  } catch (error) {
    if (error instanceof ContractError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a ContractError, but nothing was thrown');
}

describe('payment event codec', () => {
  describe('round trip', () => {
    it.each(Object.values(fullEvents))('decodes $type with every field set to exactly what was encoded', (event) => {
      // when
      const decoded = decodePaymentEvent(encodePaymentEvent(event, fullMeta));
      // then: toStrictEqual also fails on a key that is present with the value undefined
      expect(decoded).toStrictEqual({ event, meta: fullMeta, schemaVersion: 1, prior: [] });
    });

    it.each(Object.values(minimalEvents))('keeps absent optional fields of $type absent', (event) => {
      const decoded = decodePaymentEvent(encodePaymentEvent(event, minimalMeta));

      expect(decoded).toStrictEqual({ event, meta: minimalMeta, schemaVersion: 1, prior: [] });
    });

    it('keeps a customer with no known details as an empty customer, not as no customer', () => {
      const requested = minimalEvents['payment.requested'];
      if (requested.type !== 'payment.requested') throw new Error('fixture');
      const event: PaymentEvent = { type: 'payment.requested', data: { ...requested.data, customer: {} } };

      expect(decodePaymentEvent(encodePaymentEvent(event, minimalMeta)).event).toStrictEqual(event);
    });

    it('covers every event type the domain declares', () => {
      expect(Object.keys(fullEvents).sort()).toEqual(Object.keys(minimalEvents).sort());
      expect(Object.values(fullEvents).map((event) => event.type)).toEqual(Object.keys(fullEvents));
    });

    it('normalises occurredAt to UTC with milliseconds', () => {
      const bytes = encodePaymentEvent(fullEvents['payment.failed'], { ...minimalMeta, occurredAt: '2025-03-14T16:26:53+07:00' });

      expect(decodePaymentEvent(bytes).meta.occurredAt).toBe('2025-03-14T09:26:53.000Z');
    });

    it('writes event_type, schema_version 1 and the matching payload case', () => {
      const envelope = fromBinary(EnvelopeSchema, encodePaymentEvent(fullEvents['payment.routed'], fullMeta));

      expect(envelope.eventType).toBe('payment.routed');
      expect(envelope.schemaVersion).toBe(1);
      expect(envelope.payload.case).toBe('paymentRouted');
    });

    it('writes amounts as int64 minor units', () => {
      const envelope = fromBinary(EnvelopeSchema, encodePaymentEvent(fullEvents['payment.succeeded'], fullMeta));

      expect(envelope.payload.case === 'paymentSucceeded' && envelope.payload.value.amountCaptured).toMatchObject({
        amountMinor: 1999n,
        currency: 'USD',
      });
    });
  });

  describe('prior events (carried for a stage that keeps no copy of the payment)', () => {
    const requested = { event: fullEvents['payment.requested'], meta: { ...fullMeta, eventId: 'evt_01HZX1', causationId: undefined } };
    delete requested.meta.causationId;
    const assessed = { event: fullEvents['payment.risk_assessed'], meta: { ...minimalMeta, eventId: 'evt_01HZX2', causationId: 'evt_01HZX1' } };

    it('carries earlier events, oldest first, each with its own envelope facts', () => {
      const decoded = decodePaymentEvent(encodePaymentEvent(fullEvents['payment.routed'], fullMeta, [requested, assessed]));

      expect(decoded.event).toStrictEqual(fullEvents['payment.routed']);
      expect(decoded.prior).toStrictEqual([requested, assessed]);
    });

    it('refuses to carry an event of another payment, on either side', () => {
      const other = { ...assessed, meta: { ...assessed.meta, paymentId: 'pay_other' } };
      expect(contractErrorOf(() => encodePaymentEvent(fullEvents['payment.routed'], fullMeta, [other])).code).toBe('malformed');

      const envelope = fromBinary(EnvelopeSchema, encodePaymentEvent(fullEvents['payment.routed'], fullMeta, [assessed]));
      envelope.prior[0]!.paymentId = 'pay_other';
      expect(contractErrorOf(() => decodePaymentEvent(toBinary(EnvelopeSchema, envelope))).message).toContain('pay_other');
    });

    it('rejects a prior event that carries prior events of its own, and more than priorEventsMax', () => {
      const envelope = fromBinary(EnvelopeSchema, encodePaymentEvent(fullEvents['payment.routed'], fullMeta, [requested, assessed]));
      envelope.prior[1]!.prior = [envelope.prior[0]!];
      expect(contractErrorOf(() => decodePaymentEvent(toBinary(EnvelopeSchema, envelope))).code).toBe('malformed');

      const tooMany = Array.from({ length: priorEventsMax + 1 }, () => assessed);
      expect(contractErrorOf(() => encodePaymentEvent(fullEvents['payment.routed'], fullMeta, tooMany)).code).toBe('malformed');
      const wire = fromBinary(EnvelopeSchema, encodePaymentEvent(fullEvents['payment.routed'], fullMeta, [assessed]));
      wire.prior = Array.from({ length: priorEventsMax + 1 }, () => wire.prior[0]!);
      expect(contractErrorOf(() => decodePaymentEvent(toBinary(EnvelopeSchema, wire))).code).toBe('malformed');
    });

    it('rejects a malformed prior event as the whole message', () => {
      const envelope = fromBinary(EnvelopeSchema, encodePaymentEvent(fullEvents['payment.routed'], fullMeta, [assessed]));
      envelope.prior[0]!.eventId = '';
      expect(contractErrorOf(() => decodePaymentEvent(toBinary(EnvelopeSchema, envelope))).code).toBe('malformed');
    });
  });

  describe('enum mapping', () => {
    const captureMethods: [CaptureMethod, proto.CaptureMethod][] = [
      ['automatic', proto.CaptureMethod.AUTOMATIC],
      ['manual', proto.CaptureMethod.MANUAL],
    ];
    const riskDecisions: [RiskDecision, proto.RiskDecision][] = [
      ['approve', proto.RiskDecision.APPROVE],
      ['review', proto.RiskDecision.REVIEW],
      ['decline', proto.RiskDecision.DECLINE],
    ];
    const attemptStatuses: [AttemptStatus, proto.AttemptStatus][] = [
      ['authorized', proto.AttemptStatus.AUTHORIZED],
      ['captured', proto.AttemptStatus.CAPTURED],
      ['declined', proto.AttemptStatus.DECLINED],
      ['failed', proto.AttemptStatus.FAILED],
      ['requires_action', proto.AttemptStatus.REQUIRES_ACTION],
      ['unknown', proto.AttemptStatus.UNKNOWN],
    ];

    it.each(captureMethods)('maps capture method %s to wire value %i and back', (domain, wire) => {
      const requested = fullEvents['payment.requested'];
      if (requested.type !== 'payment.requested') throw new Error('fixture');
      const event: PaymentEvent = { type: 'payment.requested', data: { ...requested.data, captureMethod: domain } };

      const bytes = encodePaymentEvent(event, minimalMeta);

      const envelope = fromBinary(EnvelopeSchema, bytes);
      expect(envelope.payload.case === 'paymentRequested' && envelope.payload.value.captureMethod).toBe(wire);
      expect(decodePaymentEvent(bytes).event).toStrictEqual(event);
    });

    it.each(riskDecisions)('maps risk decision %s to wire value %i and back', (domain, wire) => {
      const event: PaymentEvent = { type: 'payment.risk_assessed', data: { score: 50, decision: domain, reasons: [] } };

      const bytes = encodePaymentEvent(event, minimalMeta);

      const envelope = fromBinary(EnvelopeSchema, bytes);
      expect(envelope.payload.case === 'paymentRiskAssessed' && envelope.payload.value.decision).toBe(wire);
      expect(decodePaymentEvent(bytes).event).toStrictEqual(event);
    });

    it.each(attemptStatuses)('maps attempt status %s to wire value %i and back', (domain, wire) => {
      const event: PaymentEvent = { type: 'payment.attempt_completed', data: { attemptId: 'att_1', connector: 'xendit', status: domain, latencyMs: 5 } };

      const bytes = encodePaymentEvent(event, minimalMeta);

      const envelope = fromBinary(EnvelopeSchema, bytes);
      expect(envelope.payload.case === 'paymentAttemptCompleted' && envelope.payload.value.status).toBe(wire);
      expect(decodePaymentEvent(bytes).event).toStrictEqual(event);
    });

    it('rejects an UNSPECIFIED attempt status as malformed rather than reading it as unknown', () => {
      expect(contractErrorOf(() => decodePaymentEvent(attemptEnvelope({ status: proto.AttemptStatus.UNSPECIFIED })))).toMatchObject({
        code: 'malformed',
        message: expect.stringContaining('unspecified'),
      });
    });

    it('rejects an enum number this build does not know as malformed', () => {
      expect(contractErrorOf(() => decodePaymentEvent(attemptEnvelope({ status: 99 as proto.AttemptStatus })))).toMatchObject({
        code: 'malformed',
        message: expect.stringContaining('99'),
      });
    });

    it('rejects a failure kind the domain does not know as malformed', () => {
      const bytes = attemptEnvelope({ status: proto.AttemptStatus.DECLINED, failureKind: 'maybe_retry' });

      expect(contractErrorOf(() => decodePaymentEvent(bytes))).toMatchObject({ code: 'malformed', message: expect.stringContaining('maybe_retry') });
    });

    it('rejects a payment method type the domain does not know as malformed', () => {
      const bytes = rawEnvelope({
        eventType: 'payment.requested',
        payload: {
          case: 'paymentRequested',
          value: {
            amount: { amountMinor: 100n, currency: 'USD' },
            captureMethod: proto.CaptureMethod.AUTOMATIC,
            paymentMethod: { type: 'cheque' },
          },
        },
      });

      expect(contractErrorOf(() => decodePaymentEvent(bytes))).toMatchObject({ code: 'malformed', message: expect.stringContaining('cheque') });
    });
  });

  describe('PSP processing time', () => {
    const attempt = (pspProcessingMs: number): PaymentEvent => ({
      type: 'payment.attempt_completed',
      data: { attemptId: 'att_1', connector: 'stripe', status: 'captured', latencyMs: 55, pspProcessingMs },
    });

    it('keeps a processing time of zero as zero, not as unknown', () => {
      expect(decodePaymentEvent(encodePaymentEvent(attempt(0), minimalMeta)).event).toStrictEqual(attempt(0));
    });

    it.each([-0.1, Number.NaN, Number.POSITIVE_INFINITY])('refuses to encode a processing time of %s', (pspProcessingMs) => {
      expect(contractErrorOf(() => encodePaymentEvent(attempt(pspProcessingMs), minimalMeta))).toMatchObject({ code: 'malformed', message: expect.stringContaining('pspProcessingMs') });
    });

    it('rejects a negative wire psp_processing_ms as malformed', () => {
      const bytes = attemptEnvelope({ status: proto.AttemptStatus.CAPTURED, pspProcessingMs: -3 });

      expect(contractErrorOf(() => decodePaymentEvent(bytes))).toMatchObject({ code: 'malformed', message: expect.stringContaining('psp_processing_ms') });
    });
  });

  describe('amounts', () => {
    it.each([2 ** 53, 1.5, -1, Number.NaN])('refuses to encode amountMinor %s', (amountMinor) => {
      const event: PaymentEvent = { type: 'payment.succeeded', data: { amountCaptured: { amountMinor, currency: 'USD' }, connector: 'stripe' } };

      expect(contractErrorOf(() => encodePaymentEvent(event, minimalMeta))).toMatchObject({ code: 'malformed', message: expect.stringContaining('amountCaptured') });
    });

    it.each([2n ** 53n, 2n ** 63n - 1n, -1n])('rejects a wire amount_minor of %s as malformed', (amountMinor) => {
      const bytes = rawEnvelope({
        eventType: 'payment.succeeded',
        payload: { case: 'paymentSucceeded', value: { amountCaptured: { amountMinor, currency: 'USD' }, connector: 'stripe' } },
      });

      expect(contractErrorOf(() => decodePaymentEvent(bytes))).toMatchObject({ code: 'malformed', message: expect.stringContaining('amount_minor') });
    });

    it('accepts the largest safe integer', () => {
      const amountMinor = Number.MAX_SAFE_INTEGER;
      const event: PaymentEvent = { type: 'payment.succeeded', data: { amountCaptured: { amountMinor, currency: 'USD' }, connector: 'stripe' } };

      expect(decodePaymentEvent(encodePaymentEvent(event, minimalMeta)).event).toStrictEqual(event);
    });

    it('rejects a missing amount as malformed', () => {
      const bytes = rawEnvelope({ eventType: 'payment.succeeded', payload: { case: 'paymentSucceeded', value: { connector: 'stripe' } } });

      expect(contractErrorOf(() => decodePaymentEvent(bytes))).toMatchObject({ code: 'malformed', message: expect.stringContaining('amountCaptured is missing') });
    });
  });

  describe('envelope errors a consumer dead-letters', () => {
    it.each([
      ['random bytes', Uint8Array.from([0xff, 0xff, 0xff, 0xff])],
      ['a truncated length-delimited field', Uint8Array.from([0x0a, 0x10, 0x41])],
      ['JSON text', new TextEncoder().encode('{"type":"payment.failed"}')],
      ['no bytes at all', new Uint8Array(0)],
    ])('rejects %s as malformed', (_description, bytes) => {
      expect(contractErrorOf(() => decodePaymentEvent(bytes)).code).toBe('malformed');
    });

    it('rejects a schema version this build cannot read', () => {
      expect(contractErrorOf(() => decodePaymentEvent(rawEnvelope({ schemaVersion: 2 })))).toMatchObject({
        code: 'unsupported_schema_version',
        message: expect.stringContaining('2'),
      });
    });

    it('reports an event type from a newer producer as unknown, not malformed', () => {
      // given: a producer that knows a payload case (field 30) this build does not
      const known = rawEnvelope({ eventType: 'payment.refunded', payload: { case: undefined } });
      const unknownPayloadField30 = Uint8Array.from([0xf2, 0x01, 0x00]); // tag (30 << 3 | 2), length 0
      const bytes = Uint8Array.from([...known, ...unknownPayloadField30]);

      expect(contractErrorOf(() => decodePaymentEvent(bytes))).toMatchObject({
        code: 'unknown_event_type',
        message: expect.stringContaining('payment.refunded'),
      });
    });

    it('rejects a known event type without its payload as malformed', () => {
      expect(contractErrorOf(() => decodePaymentEvent(rawEnvelope({ payload: { case: undefined } }))).code).toBe('malformed');
    });

    it('rejects an event type that does not match the payload as malformed', () => {
      expect(contractErrorOf(() => decodePaymentEvent(rawEnvelope({ eventType: 'payment.succeeded' })))).toMatchObject({
        code: 'malformed',
        message: expect.stringContaining('does not match'),
      });
    });

    it.each(['eventId', 'paymentId', 'merchantId', 'correlationId', 'producer'] as const)('rejects an envelope without %s', (field) => {
      expect(contractErrorOf(() => decodePaymentEvent(rawEnvelope({ [field]: '' }))).code).toBe('malformed');
      expect(contractErrorOf(() => encodePaymentEvent(fullEvents['payment.failed'], { ...minimalMeta, [field]: '' })).code).toBe('malformed');
    });

    it('rejects an envelope without occurred_at', () => {
      expect(contractErrorOf(() => decodePaymentEvent(rawEnvelope({ occurredAt: undefined }))).message).toContain('occurred_at');
    });

    it.each(['yesterday', '2025-03-14T09:26:53', '2025-03-14'])('refuses to encode occurredAt "%s"', (occurredAt) => {
      expect(contractErrorOf(() => encodePaymentEvent(fullEvents['payment.failed'], { ...minimalMeta, occurredAt })).code).toBe('malformed');
    });
  });

  describe('card data', () => {
    it('has no field that could carry a card number or CVC', () => {
      expect(proto.CardFactsSchema.fields.map((field) => field.name)).toEqual(['token', 'brand', 'last4', 'bin', 'exp_month', 'exp_year', 'fingerprint']);
    });

    it('encodes a card payment without any run of 13 or more digits', () => {
      const bytes = encodePaymentEvent(fullEvents['payment.requested'], fullMeta);

      expect(Buffer.from(bytes).toString('latin1')).not.toMatch(/\d{13,}/);
    });

    it.each([
      ['bin', { bin: '4242424242424242' }],
      ['last4', { last4: '4242424242424242' }],
    ])('refuses to encode a card whose %s holds a card number', (field, override) => {
      const event: PaymentEvent = {
        type: 'payment.requested',
        data: {
          amount: { amountMinor: 100, currency: 'USD' },
          captureMethod: 'automatic',
          paymentMethod: { type: 'card', card: { ...card, ...override } },
          metadata: {},
        },
      };

      expect(contractErrorOf(() => encodePaymentEvent(event, minimalMeta))).toMatchObject({ code: 'malformed', message: expect.stringContaining(field) });
    });
  });
});
