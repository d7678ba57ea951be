import type { Admin, ITopicConfig } from 'kafkajs';

export interface TopicDeclaration {
  name: string;
  /** Declared, not left to broker defaults: partitions bound how many replicas of a consumer group share work. */
  partitions: number;
  /** Topic-level configs, e.g. retention. */
  configs?: Record<string, string>;
}

/** Every payment event, keyed by payment id so one payment's events stay in order. */
export const paymentEventsTopic: TopicDeclaration = {
  name: 'dirigen.payment-events.v1',
  partitions: 12,
  configs: { 'retention.ms': String(30 * 24 * 3600 * 1000), 'min.insync.replicas': '1' },
};

/** Messages a consumer gave up on, with the failure and origin in headers. */
export const deadLetterTopic: TopicDeclaration = {
  name: 'dirigen.dead-letter.v1',
  partitions: 3,
  configs: { 'retention.ms': String(90 * 24 * 3600 * 1000) },
};

export const platformTopics: readonly TopicDeclaration[] = [paymentEventsTopic, deadLetterTopic];

/**
 * Creates missing topics and grows partition counts to the declared ones (Kafka cannot
 * shrink them). Idempotent: safe to run at every start.
 */
export async function provisionTopics(admin: Admin, topics: readonly TopicDeclaration[], replicationFactor = 1): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((topic) => !existing.has(topic.name))
    .map((topic) => ({
      topic: topic.name,
      numPartitions: topic.partitions,
      replicationFactor,
      configEntries: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  const present = topics.filter((topic) => existing.has(topic.name));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((topic) => topic.name) });
  const grow = metadata.topics
    .map((topic) => ({ topic: topic.name, count: present.find((declared) => declared.name === topic.name)!.partitions, now: topic.partitions.length }))
    .filter((topic) => topic.count > topic.now)
    .map(({ topic, count }) => ({ topic, count }));
  if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
}
