import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';

export interface OutboundMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export interface EventProducerOptions {
  /** Requests in flight per broker connection; 1 keeps the idempotent producer's ordering guarantee in kafkajs. */
  maxInFlightRequests?: 1;
  /** How long the broker may wait for in-sync replicas before answering. */
  ackTimeoutMs?: number;
}

/**
 * The only way Dirigen services write to Kafka: an idempotent producer (no duplicates from
 * producer retries), acks from all in-sync replicas, no topic auto-creation.
 */
export class EventProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(kafka: Kafka, private readonly options: EventProducerOptions = {}) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: options.maxInFlightRequests ?? 1,
      allowAutoTopicCreation: false,
      // kafkajs only keeps the idempotence guarantee with unbounded retries; the relay above bounds the wait.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Sends messages grouped by topic in one request; resolves once every broker acknowledged. */
  async send(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const byTopic = new Map<string, OutboundMessage[]>();
    for (const message of messages) {
      const group = byTopic.get(message.topic) ?? [];
      group.push(message);
      byTopic.set(message.topic, group);
    }
    await this.producer.sendBatch({
      acks: -1,
      timeout: this.options.ackTimeoutMs ?? 10_000,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, group]) => ({
        topic,
        messages: group.map((message) => ({ key: message.key, value: message.value, headers: message.headers })),
      })),
    });
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.producer.disconnect();
  }
}
