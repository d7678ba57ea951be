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

/**
 * Stage topics: an event that one stage of the pipeline acts on is published twice, to the full
 * log above and to a topic of its own, so that stage fetches only what it consumes (instead of
 * every event of every payment, most of them skipped) and carries the payment's earlier events
 * with it (`Envelope.prior`). The log stays the one ordered history per payment that projections
 * (intake's read model, the ledger) replay. Kept 7 days: a stage that is down longer than that
 * has bigger problems, and the log still holds everything.
 */
function stageTopic(name: string): TopicDeclaration {
  return { name, partitions: 12, configs: { 'retention.ms': String(7 * 24 * 3600 * 1000), 'min.insync.replicas': '1' } };
}

/** Each stage's input: the event type it acts on → its topic. */
export const stageTopicsByEventType: Readonly<Record<string, TopicDeclaration>> = {
  'payment.requested': stageTopic('dirigen.payment-requested.v1'), // fraud
  'payment.risk_assessed': stageTopic('dirigen.payment-risk-assessed.v1'), // routing
  'payment.routed': stageTopic('dirigen.payment-routed.v1'), // gateway
};

/**
 * The topics a consumer of `eventTypes` subscribes to: their stage topics when every one has a
 * stage topic, else the full log (a projection wants every event of a payment in order).
 */
export function topicsFor(eventTypes: ReadonlySet<string>): string[] {
  const stageTopics = [...eventTypes].map((type) => stageTopicsByEventType[type]?.name);
  if (eventTypes.size === 0 || stageTopics.some((topic) => topic === undefined)) return [paymentEventsTopic.name];
  return [...new Set(stageTopics as string[])];
}

/** Messages a consumer gave up on, with the failure and origin in headers. */
export const deadLetterTopic: TopicDeclaration = {
  name: 'dirigen.dead-letter.v1',
  partitions: 3,
  configs: { 'retention.ms': String(90 * 24 * 3600 * 1000) },
};

export const platformTopics: readonly TopicDeclaration[] = [paymentEventsTopic, ...Object.values(stageTopicsByEventType), deadLetterTopic];

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
