import { ROOT_CONTEXT, SpanKind, context, propagation, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchConsumer, eventIdHeader, type InboundMessage } from './batch-consumer';
import { EventProducer } from './event-producer';
import { KafkaIntegrationEnv, waitUntil } from './testing/int-env';
import { contextFromHeaders, currentTraceHeaders } from './trace-headers';

// What services wire through the OpenTelemetry NodeSDK, set up by hand: an async-local context,
// the W3C propagator and a tracer whose finished spans the test can inspect.
const env = new KafkaIntegrationEnv('trace-headers');
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('trace-headers.int.spec');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  await env.setUp();
});

afterAll(async () => {
  propagation.disable();
  context.disable();
  await provider.shutdown();
  await env.tearDown();
});

describe('trace headers', () => {
  it("continues the producer's trace in the consumer across Kafka, tracestate included, and invents none for an untraced message", async () => {
    const topic = await env.createTopic('traced', 1);
    const producer = new EventProducer(env.kafka);
    await producer.connect();
    // The producer span is the child of an upstream caller's span that carried vendor trace state.
    const upstream: SpanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true, traceState: new TraceState('dirigen=gateway') };
    const producerSpan = tracer.startSpan('publish payment event', { kind: SpanKind.PRODUCER }, trace.setSpanContext(ROOT_CONTEXT, upstream));
    const traceHeaders = context.with(trace.setSpan(context.active(), producerSpan), () => currentTraceHeaders());
    producerSpan.end();
    const produced = producerSpan.spanContext();
    expect(traceHeaders).toEqual({ traceparent: `00-${produced.traceId}-${produced.spanId}-01`, tracestate: 'dirigen=gateway' });
    expect(context.with(ROOT_CONTEXT, () => currentTraceHeaders())).toEqual({});

    const extracted = new Map<string, SpanContext | undefined>();
    const consumer = new BatchConsumer(env.kafka, {
      groupId: env.groupId('traced'),
      topics: [topic],
      deadLetter: { producer, topic },
      retry: { attemptsMax: 1, backoffInitialMs: 10, backoffMaxMs: 10 },
      log: () => undefined,
      handler: async (messages: readonly InboundMessage[]) => {
        for (const message of messages) {
          const parent = contextFromHeaders(message.headers);
          extracted.set(message.eventId!, trace.getSpanContext(parent));
          tracer.startSpan('handle payment event', { kind: SpanKind.CONSUMER }, parent).end();
        }
      },
    });
    try {
      await producer.send([
        { topic, key: 'pay_1', value: Buffer.from('traced'), headers: { ...traceHeaders, [eventIdHeader]: 'evt_traced' } },
        { topic, key: 'pay_1', value: Buffer.from('untraced'), headers: { [eventIdHeader]: 'evt_untraced' } },
      ]);
      await consumer.start();
      await waitUntil('both messages were handled', () => extracted.size === 2);
    } finally {
      await consumer.stop();
      await producer.disconnect();
    }

    expect(extracted.get('evt_traced')).toMatchObject({ traceId: produced.traceId, spanId: produced.spanId, traceFlags: 1, isRemote: true });
    expect(extracted.get('evt_traced')!.traceState?.serialize()).toBe('dirigen=gateway');
    expect(extracted.get('evt_untraced')).toBeUndefined();
    const consumerSpans = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CONSUMER);
    const continued = consumerSpans.find((span) => span.parentSpanContext?.spanId === produced.spanId);
    expect(continued?.spanContext().traceId).toBe(upstream.traceId);
    expect(consumerSpans.filter((span) => span.spanContext().traceId !== upstream.traceId)).toHaveLength(1); // the untraced message's own root
  });
});
