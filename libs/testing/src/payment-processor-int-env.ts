import { randomBytes } from 'node:crypto';
import { decodePaymentEvent } from '@dirigen/contracts';
import { BatchConsumer, createKafka, eventIdHeader, EventProducer, OutboxRelay, paymentEventsTopic, provisionTopics, type OutboundMessage } from '@dirigen/messaging';
import { ServiceMetrics } from '@dirigen/observability';
import { createServiceDataSource, migrateServiceDatabase, PgOutboxStore, quoteIdentifier } from '@dirigen/persistence';
import { PaymentEventProcessor, toOutboundMessage, type PaymentProcessorDefinition } from '@dirigen/service-kit';
import type { Admin } from 'kafkajs';
import pg from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';
import type { PaymentEventWithMeta } from './payment-event-builders';

/** The database server the int stage gives us (`npm test` sets DATABASE_URL); each service gets a database of its own on it. */
export const intDatabaseAdminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
export const intKafkaBrokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');

/** Partitions of the run's input topic: more than one, so a payment's events are kept together by key as in production. */
const inputPartitions = 3;
const pollIntervalMs = 25;
const waitTimeoutMsDefault = 20_000;

export interface PaymentProcessorIntEnvOptions<Prepared> {
  /** The service's consumer name (its inbox name and the seed of the event ids it derives), e.g. `fraud`. */
  consumer: string;
  schema: string;
  migrations: (new () => MigrationInterface)[];
  /** The service's handler, exactly as its app module wires it. */
  define: (dataSource: DataSource) => Omit<PaymentProcessorDefinition<Prepared>, 'consumer' | 'schema'>;
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = waitTimeoutMsDefault): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

/**
 * A service's payment-event handler running as in production, against the real broker and
 * PostgreSQL: the service's migrations in a database of its own (recreated each run), the
 * production `PaymentEventProcessor` fed by the production `BatchConsumer`. Only the topics are
 * the run's own, so nothing reaches the platform topic another suite reads. What a `stored`
 * service produces is read from its transactional outbox, where the relay would pick it up; what a
 * `carried` one sends goes to the run's output topic, and is recorded once the broker acknowledged it.
 */
export class PaymentProcessorIntEnv {
  private constructor(
    /** Every error the handler threw (each one retried, or dead-lettered if permanent): a test that expects none says so. */
    readonly handlerFailures: unknown[],
    /** Deliveries handled (committed, or skipped as duplicates), by event id. */
    private readonly handled: ReadonlyMap<string, number>,
    readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly kafka: { admin: Admin; producer: EventProducer; consumer: BatchConsumer; topics: string[]; groupId: string },
    readonly inputTopic: string,
    /** Sent directly by a `carried` processor and acknowledged by the broker, in order; undefined for a `stored` one. */
    private readonly sent: readonly OutboundMessage[] | undefined,
    /** Event ids of the messages the consumer dead-lettered (acknowledged by the broker). */
    private readonly deadLettered: ReadonlySet<string>,
  ) {}

  static async start<Prepared>(options: PaymentProcessorIntEnvOptions<Prepared>): Promise<PaymentProcessorIntEnv> {
    const runId = randomBytes(4).toString('hex');
    const databaseUrl = await recreateDatabase(intDatabaseName(options.consumer));
    await migrateServiceDatabase({ url: databaseUrl, schema: options.schema, applicationName: `${options.consumer}.int.spec`, migrations: options.migrations });
    const dataSource = await createServiceDataSource({ url: databaseUrl, schema: options.schema, applicationName: `${options.consumer}.int.spec`, poolSizeMax: 6 }).initialize();

    const client = createKafka({ brokers: intKafkaBrokers, clientId: `${options.consumer}-int-${runId}`, log: () => undefined });
    const admin = client.admin();
    await admin.connect();
    const inputTopic = `it.${options.consumer}.payment-events.${runId}`;
    const deadLetterTopic = `it.${options.consumer}.dead-letter.${runId}`;
    const outputTopic = `it.${options.consumer}.output.${runId}`;
    await provisionTopics(admin, [
      { name: inputTopic, partitions: inputPartitions },
      { name: deadLetterTopic, partitions: 1 },
      { name: outputTopic, partitions: inputPartitions },
    ]);
    const producer = new EventProducer(client);
    await producer.connect();

    const definition = options.define(dataSource);
    const sent: OutboundMessage[] = [];
    const deadLettered = new Set<string>();
    const processor = new PaymentEventProcessor<Prepared>(
      { consumer: options.consumer, schema: options.schema, ...definition },
      {
        dataSource,
        // Never started: what the service produces stays in its outbox for the test to read.
        relay: new OutboxRelay(new PgOutboxStore(dataSource, options.schema), producer, { log: () => undefined }),
        publish: async (messages) => {
          await producer.send(messages.map((message) => ({ ...message, topic: outputTopic })));
          sent.push(...messages); // with the topics the service chose
        },
        metrics: new ServiceMetrics(`${options.consumer}-int`),
        producerName: `${options.consumer}-int`,
      },
    );
    const handlerFailures: unknown[] = [];
    const handled = new Map<string, number>();
    const groupId = `it.${options.consumer}.${runId}`;
    const consumer = new BatchConsumer(client, {
      groupId,
      topics: [inputTopic],
      eventTypes: processor.eventTypes,
      handler: async (messages) => {
        try {
          await processor.handle(messages);
        } catch (error) {
          handlerFailures.push(error);
          throw error; // the consumer retries it, or dead-letters a permanent failure
        }
        for (const { eventId } of messages) if (eventId) handled.set(eventId, (handled.get(eventId) ?? 0) + 1);
      },
      deadLetter: {
        topic: deadLetterTopic,
        producer: {
          send: async (messages) => {
            await producer.send(messages);
            for (const message of messages) deadLettered.add(message.headers[eventIdHeader] ?? '');
          },
        },
      },
      retry: { attemptsMax: 5, backoffInitialMs: 50, backoffMaxMs: 1_000 },
      // Its errors on stderr, for the reader of a failed run (a crash and restart while the broker starts up is harmless).
      log: (level, message, extra) => void (level === 'error' && process.stderr.write(`${JSON.stringify({ level, message, ...extra })}\n`)),
    });
    const env = new PaymentProcessorIntEnv(handlerFailures, handled, dataSource, options.schema, { admin, producer, consumer, topics: [inputTopic, deadLetterTopic, outputTopic], groupId }, inputTopic, definition.state === 'carried' ? sent : undefined, deadLettered);
    await consumer.start();
    return env;
  }

  /** Publishes events to the service's input topic, keyed by payment id, with the production headers (carrying no earlier events, as intake sends them). */
  async publish(...events: readonly PaymentEventWithMeta[]): Promise<void> {
    await this.kafka.producer.send(events.map(({ event, meta }) => ({ ...toOutboundMessage(event, meta), topic: this.inputTopic })));
  }

  /** Publishes `events` in one request, each carrying `prior` (the payment's earlier events), as a `carried` stage upstream sends them. */
  async publishCarrying(prior: readonly PaymentEventWithMeta[], ...events: readonly PaymentEventWithMeta[]): Promise<void> {
    await this.kafka.producer.send(events.map(({ event, meta }) => ({ ...toOutboundMessage(event, meta, prior), topic: this.inputTopic })));
  }

  /** Waits until the handler committed (or skipped as a duplicate) the delivery of `eventId` for the `deliveries`-th time. */
  async waitUntilHandled(eventId: string, deliveries = 1): Promise<void> {
    await waitUntil(`event ${eventId} was handled ${deliveries} time(s)`, () => (this.handled.get(eventId) ?? 0) >= deliveries);
  }

  /** Waits until the consumer dead-lettered the message of `eventId`. */
  async waitUntilDeadLettered(eventId: string): Promise<void> {
    await waitUntil(`event ${eventId} was dead-lettered`, () => this.deadLettered.has(eventId));
  }

  /** Clears the handler failures a test provoked on purpose (so the suite's no-failure check holds for the next test). */
  forgetHandlerFailures(): void {
    this.handlerFailures.length = 0;
  }

  /** The events the service produced for a payment, in the order it wrote them to its outbox (or sent them): their copies on the full log. */
  async produced(paymentId: string): Promise<PaymentEventWithMeta[]> {
    const values: Buffer[] = this.sent
      ? this.sent.filter((message) => message.key === paymentId && message.topic === paymentEventsTopic.name).map((message) => message.value)
      : (await this.dataSource.query(`SELECT value FROM ${quoteIdentifier(this.schema)}.outbox WHERE key = $1 AND topic = $2 ORDER BY id`, [paymentId, paymentEventsTopic.name])).map((row: { value: Buffer }) => row.value);
    return values.map((value) => {
      const { event, meta } = decodePaymentEvent(value);
      return { event, meta };
    });
  }

  /** What a `carried` service sent a payment's next stage: the copies on stage topics, with the earlier events each one carries. */
  producedToStages(paymentId: string): (PaymentEventWithMeta & { topic: string; prior: PaymentEventWithMeta[] })[] {
    return (this.sent ?? [])
      .filter((message) => message.key === paymentId && message.topic !== paymentEventsTopic.name)
      .map((message) => {
        const { event, meta, prior } = decodePaymentEvent(message.value);
        return { topic: message.topic, event, meta, prior };
      });
  }

  async stop(): Promise<void> {
    const { consumer, producer, admin, topics, groupId } = this.kafka;
    try {
      await consumer.stop();
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics, timeout: 10_000 });
    } finally {
      await admin.disconnect();
      await this.dataSource.destroy();
    }
  }
}

/** A database of the int stage's server for one spec's use, named after the stage's own (`dirigen_test_fraud`). */
export function intDatabaseName(purpose: string): string {
  return `${new URL(intDatabaseAdminUrl).pathname.slice(1)}_${purpose}`;
}

/** Drops and creates a database on the int stage's server; answers its URL (the admin's credentials). */
export async function recreateDatabase(name: string): Promise<string> {
  quoteIdentifier(name);
  const admin = new pg.Client({ connectionString: intDatabaseAdminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return Object.assign(new URL(intDatabaseAdminUrl), { pathname: `/${name}` }).toString();
}
