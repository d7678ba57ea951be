import type { BeforeApplicationShutdown, InjectionToken, OnApplicationBootstrap, Provider } from '@nestjs/common';
import { BatchConsumer, deadLetterTopic, topicsFor, type BatchHandler, type EventProducer, type OutboundMessage, type OutboxRelay } from '@dirigen/messaging';
import type { Logger, ServiceMetrics } from '@dirigen/observability';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { killAfterPublishDrill } from './fault-drill';
import { PaymentEventProcessor, type PaymentProcessorDefinition } from './payment-event-processor';
import type { PlatformConfig } from './platform-config';
import { DATA_SOURCE, EVENT_PRODUCER, KAFKA, LOGGER, METRICS, OUTBOX_RELAY } from './platform.module';

export interface PaymentConsumerOptions {
  kafka: Kafka;
  producer: EventProducer;
  logger: Logger;
  groupId: string;
  /** Anything that handles payment-event batches: a PaymentEventProcessor, a projection. */
  processor: { readonly eventTypes: ReadonlySet<string>; readonly handle: BatchHandler };
  partitionsConsumedConcurrently?: number;
  chunkSizeMax?: number;
}

/**
 * Runs a service's payment-event processor in its consumer group for the lifetime of the
 * Nest application: starts after every provider is ready, stops (committing what was
 * processed) before the shared resources close.
 */
export class PaymentConsumerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumer: BatchConsumer;

  constructor(private readonly options: PaymentConsumerOptions) {
    this.consumer = new BatchConsumer(options.kafka, {
      groupId: options.groupId,
      // A pipeline stage reads its own stage topic; a projection the full log.
      topics: topicsFor(options.processor.eventTypes),
      eventTypes: options.processor.eventTypes,
      handler: options.processor.handle,
      deadLetter: { producer: options.producer, topic: deadLetterTopic.name },
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
      chunkSizeMax: options.chunkSizeMax,
      log: (level, message, extra) => options.logger[level](extra ?? {}, message),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
    this.options.logger.info({ groupId: this.options.groupId }, 'consuming payment events');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}

export interface PaymentConsumerProviderOptions<Prepared> {
  config: PlatformConfig;
  /** Consumer group and inbox name. */
  groupId: string;
  schema: string;
  /** Further providers the definition needs (e.g. a connector registry), passed to `define`. */
  inject?: InjectionToken[];
  define: (...dependencies: never[]) => Omit<PaymentProcessorDefinition<Prepared>, 'consumer' | 'schema'>;
  partitionsConsumedConcurrently?: number;
}

/** A `carried` processor's publish port: the producer, then the fault drill's moment (acknowledged, input offsets not yet committed). */
function publisherWithDrill(producer: EventProducer, afterPublish: (() => void) | undefined): (messages: readonly OutboundMessage[]) => Promise<void> {
  return async (messages) => {
    await producer.send(messages);
    if (messages.length > 0) afterPublish?.();
  };
}

/** The Nest provider that runs a service's payment-event processor in its consumer group. */
export function paymentConsumerProvider<Prepared>(options: PaymentConsumerProviderOptions<Prepared>): Provider {
  return {
    provide: PaymentConsumerLifecycle,
    inject: [KAFKA, EVENT_PRODUCER, LOGGER, DATA_SOURCE, OUTBOX_RELAY, METRICS, ...(options.inject ?? [])],
    useFactory: (kafka: Kafka, producer: EventProducer, logger: Logger, dataSource: DataSource, relay: OutboxRelay, metrics: ServiceMetrics, ...dependencies: never[]) => {
      const processor = new PaymentEventProcessor<Prepared>(
        { consumer: options.groupId, schema: options.schema, ...options.define(...dependencies) },
        { dataSource, relay, publish: publisherWithDrill(producer, killAfterPublishDrill(options.config.service, process.env.DIRIGEN_FAULT_DRILL_FILE, logger)), metrics, producerName: options.config.instance },
      );
      return new PaymentConsumerLifecycle({
        kafka,
        producer,
        logger,
        groupId: options.groupId,
        processor,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
      });
    },
  };
}
