import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { EventProducer } from './event-producer';
import { ChunkCoalescer } from './chunk-coalescer';
import { headerText } from './trace-headers';

export const eventTypeHeader = 'dirigen-event-type';
export const eventIdHeader = 'dirigen-event-id';

export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
  value: Buffer;
  headers: IHeaders;
  eventType: string | undefined;
  eventId: string | undefined;
}

/** Processes a chunk of messages, all or nothing; throwing makes the consumer retry the chunk. */
export type BatchHandler = (messages: readonly InboundMessage[]) => Promise<void>;

/** Thrown by a handler for a message that no retry can fix (malformed, impossible transition): it goes to the dead-letter topic. */
export class PermanentMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentMessageError';
  }
}

export interface RetryPolicy {
  /** Attempts per round: after each round of failures the consumer logs an error (and keeps retrying). */
  attemptsMax: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export interface BatchConsumerOptions {
  groupId: string;
  topics: string[];
  handler: BatchHandler;
  /** Only messages whose event-type header is listed reach the handler; the rest are acknowledged unread. */
  eventTypes?: ReadonlySet<string>;
  deadLetter: { producer: Pick<EventProducer, 'send'>; topic: string };
  /** Partitions processed at once by this replica. */
  partitionsConsumedConcurrently?: number;
  /** Messages handed to the handler in one call. */
  chunkSizeMax?: number;
  retry?: RetryPolicy;
  log: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void;
}

const defaultRetry: RetryPolicy = { attemptsMax: 5, backoffInitialMs: 100, backoffMaxMs: 5_000 };

/**
 * How often processed offsets are committed. kafkajs with `autoCommit` commits after every
 * partition's batch, whatever `autoCommitInterval` says: measured under load, 3 OffsetCommit requests
 * per payment, the broker's most frequent request (more than its fetches and produces together), each
 * an append to `__consumer_offsets` and a round trip the next fetch waited for. Committing at most this
 * often redelivers at most this much work after a crash or a rebalance, which every consumer absorbs
 * (inbox, derived event ids).
 */
export const offsetCommitIntervalMs = 1_000;

/**
 * Batch consumption on kafkajs `eachBatch` (NestJS's Kafka transport is one message at a time):
 * chunks of up to `chunkSizeMax` go to the handler, a failing chunk is retried with backoff until
 * it succeeds; a chunk failing permanently is split so that only its poison messages go to the
 * dead-letter topic.
 * Offsets are committed only after their chunk was handled; stop() finishes the chunk in hand.
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private readonly retry: RetryPolicy;
  private readonly chunkSizeMax: number;
  private running = false;
  private readonly coalescer: ChunkCoalescer<InboundMessage>;
  /** The latest batch's view of resolved-but-uncommitted offsets and its commit, for the idle flush. */
  private commitPending: (() => Promise<void>) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(kafka: Kafka, private readonly options: BatchConsumerOptions) {
    this.retry = options.retry ?? defaultRetry;
    this.chunkSizeMax = options.chunkSizeMax ?? 500;
    this.coalescer = new ChunkCoalescer((messages) => options.handler(messages), this.chunkSizeMax);
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      // A replica that dies (SIGKILL, OOM) holds its partitions until this expires.
      sessionTimeout: 10_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 1_048_576,
      // The broker answers as soon as a message arrives; this only bounds how often an idle consumer asks (each ask costs the broker and the client CPU).
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 10_000 },
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.options.topics) await this.consumer.subscribe({ topic, fromBeginning: true });
    this.running = true;
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.options.log('error', 'kafka consumer crashed', { groupId: this.options.groupId, error: String(event.payload.error) });
    });
    // Offsets go out every offsetCommitIntervalMs from the batches (commitOffsetsIfNecessary), and
    // from this timer when no batch came since: a consumer that fell idle still commits its last work.
    this.flushTimer = setInterval(() => void this.commitPending?.().catch(() => undefined), offsetCommitIntervalMs);
    this.flushTimer.unref();
    await this.consumer.run({
      autoCommit: false,
      autoCommitInterval: offsetCommitIntervalMs,
      eachBatchAutoResolve: false,
      // Every partition of a fetch at once, so their chunks coalesce into one handler call.
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 12,
      eachBatch: (payload) => this.consumeBatch(payload),
    });
  }

  /** Finishes the chunk in hand, commits its offsets and leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.flushTimer);
    await this.consumer.disconnect();
  }

  private async consumeBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const commitNow = async () => {
      const { topics } = uncommittedOffsets();
      if (topics.length > 0) await commitOffsetsIfNecessary({ topics });
    };
    this.commitPending = commitNow;
    for (let start = 0; start < batch.messages.length; start += this.chunkSizeMax) {
      if (!isRunning() || isStale()) break;
      const raw = batch.messages.slice(start, start + this.chunkSizeMax);
      const chunk = raw.map((message) => toInbound(batch.topic, batch.partition, message));
      const wanted = this.options.eventTypes
        ? chunk.filter((message) => message.eventType !== undefined && this.options.eventTypes!.has(message.eventType))
        : chunk;
      if (wanted.length > 0) await this.handleChunk(wanted, heartbeat);
      resolveOffset(raw[raw.length - 1]!.offset);
      await commitOffsetsIfNecessary(); // at most every offsetCommitIntervalMs
      await heartbeat();
    }
    // Stopping: what was handled is committed now, so the next owner does not redo it.
    if (!isRunning()) await commitNow();
  }

  private async handleChunk(chunk: InboundMessage[], heartbeat: () => Promise<void>): Promise<void> {
    // First try merged with the other partitions' chunks; retries and poison isolation go alone,
    // so one partition's poison never fails another partition's messages.
    let merged = true;
    const failure = await this.untilSuccessOrPermanent(() => {
      const attempt = merged ? this.coalescer.submit(chunk) : this.options.handler(chunk);
      merged = false;
      return attempt;
    }, heartbeat);
    if (failure === undefined) return;
    if (chunk.length === 1) {
      await this.deadLetter(chunk[0]!, failure);
      return;
    }
    // Isolate the poison: every message alone, in order, so only the permanently failing ones are dead-lettered.
    for (const message of chunk) {
      const messageFailure = await this.untilSuccessOrPermanent(() => this.options.handler([message]), heartbeat);
      if (messageFailure !== undefined) await this.deadLetter(message, messageFailure);
    }
  }

  /**
   * Runs `work` until it succeeds or fails permanently. A transient failure (database or broker
   * down, a bug) is retried with backoff for as long as it takes, holding the partition: an outage
   * must delay payments, never dead-letter them. After every `attemptsMax` attempts it logs an
   * error, which is what alerting watches. Returns the permanent error, if any.
   */
  private async untilSuccessOrPermanent(work: () => Promise<void>, heartbeat: () => Promise<void>): Promise<PermanentMessageError | undefined> {
    let backoffMs = this.retry.backoffInitialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return undefined;
      } catch (error) {
        if (error instanceof PermanentMessageError) return error;
        if (!this.running) throw error; // shutting down: leave the offset uncommitted, the next owner retries
        const stuck = attempt % this.retry.attemptsMax === 0;
        this.options.log(stuck ? 'error' : 'warn', stuck ? 'handler still failing, retrying' : 'handler failed, retrying', {
          groupId: this.options.groupId,
          attempt,
          error: String(error),
        });
        await sleep(backoffMs * (0.5 + Math.random() / 2));
        backoffMs = Math.min(backoffMs * 2, this.retry.backoffMaxMs);
        await heartbeat();
      }
    }
  }

  private async deadLetter(message: InboundMessage, failure: PermanentMessageError): Promise<void> {
    this.options.log('error', 'message dead-lettered', {
      groupId: this.options.groupId,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      eventType: message.eventType,
      eventId: message.eventId,
      error: String(failure),
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      const text = headerText(value);
      if (text !== undefined) headers[name] = text;
    }
    await this.options.deadLetter.producer.send([
      {
        topic: this.options.deadLetter.topic,
        key: message.key ?? '',
        value: message.value,
        headers: {
          ...headers,
          'dirigen-dlq-group': this.options.groupId,
          'dirigen-dlq-source': `${message.topic}/${message.partition}/${message.offset}`,
          'dirigen-dlq-reason': String(failure instanceof Error ? failure.message : failure).slice(0, 1_000),
          'dirigen-dlq-at': new Date().toISOString(),
        },
      },
    ]);
  }
}

function toInbound(topic: string, partition: number, message: KafkaMessage): InboundMessage {
  const headers = message.headers ?? {};
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString(),
    value: message.value ?? Buffer.alloc(0),
    headers,
    eventType: headerText(headers[eventTypeHeader]),
    eventId: headerText(headers[eventIdHeader]),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
