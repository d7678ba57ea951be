import { randomBytes } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka } from '../kafka-client';
import { provisionTopics } from '../topics';

// Shared by the *.int.spec.ts files of libs/messaging: a real broker, names unique per run,
// and cleanup of every topic and consumer group a file created.

export const kafkaBrokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');

export interface LogLine {
  level: string;
  message: string;
  extra?: Record<string, unknown>;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolver outside, to hold a handler until the test lets it go. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

export interface ReadOptions {
  /** false reads aborted transactional records too (read_uncommitted). */
  readCommitted?: boolean;
  timeoutMs?: number;
}

/**
 * One broker connection per spec file. Every topic and group it names carries the run id, so
 * reruns and parallel files never collide, and `tearDown` deletes them.
 */
export class KafkaIntegrationEnv {
  readonly runId = randomBytes(4).toString('hex');
  /** kafkajs' own warnings and errors, kept in memory and printed only when a file fails to clean up. */
  readonly kafkaLog: LogLine[] = [];
  readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly topics = new Set<string>();
  private readonly groups = new Set<string>();
  private nameCount = 0;

  constructor(clientId: string) {
    this.kafka = createKafka({
      brokers: kafkaBrokers,
      clientId: `${clientId}-${this.runId}`,
      log: (level, message, extra) => this.kafkaLog.push({ level, message, extra }),
    });
    this.admin = this.kafka.admin({ retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 } });
  }

  async setUp(): Promise<void> {
    await this.admin.connect();
  }

  get kafkaAdmin(): Admin {
    return this.admin;
  }

  /** A name for a topic or group unique to this run, which `tearDown` cleans up. */
  name(role: string): string {
    this.nameCount += 1;
    return `it.${role}.${this.runId}.${this.nameCount}`;
  }

  async createTopic(role: string, partitions = 1, configs?: Record<string, string>): Promise<string> {
    const topic = this.name(role);
    this.topics.add(topic);
    await provisionTopics(this.admin, [{ name: topic, partitions, configs }]);
    return topic;
  }

  /** Registers a topic created another way (e.g. by provisionTopics under test) for cleanup. */
  trackTopic(topic: string): string {
    this.topics.add(topic);
    return topic;
  }

  groupId(role: string): string {
    const groupId = this.name(role);
    this.groups.add(groupId);
    return groupId;
  }

  /**
   * Reads `topic` from the beginning with a fresh consumer group until at least `count` messages
   * arrived, in partition order. Independent of the code under test (a plain kafkajs consumer).
   */
  async readTopic(topic: string, count: number, options: ReadOptions = {}): Promise<(KafkaMessage & { partition: number })[]> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId('reader'),
      readUncommitted: options.readCommitted === false,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    const seen: (KafkaMessage & { partition: number })[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: true,
        partitionsConsumedConcurrently: 1,
        eachMessage: async ({ partition, message }) => void seen.push({ ...message, partition }),
      });
      await waitUntil(`${count} messages were read from ${topic}`, () => seen.length >= count, options.timeoutMs ?? 15_000);
      return seen;
    } finally {
      await consumer.disconnect();
    }
  }

  /** The next offset the group will read on (topic, partition); -1 when it committed nothing. */
  async committedOffset(groupId: string, topic: string, partition: number): Promise<number> {
    const [offsets] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(offsets?.partitions.find((entry) => entry.partition === partition)?.offset ?? -1);
  }

  /** The offset the next message written to (topic, partition) will get. */
  async endOffset(topic: string, partition: number): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return Number(offsets.find((entry) => entry.partition === partition)!.high);
  }

  async tearDown(): Promise<void> {
    try {
      const existing = new Set((await this.admin.listGroups()).groups.map((group) => group.groupId));
      const groups = [...this.groups].filter((groupId) => existing.has(groupId));
      if (groups.length > 0) await this.admin.deleteGroups(groups);
      const existingTopics = new Set(await this.admin.listTopics());
      const topics = [...this.topics].filter((topic) => existingTopics.has(topic));
      if (topics.length > 0) await this.admin.deleteTopics({ topics, timeout: 10_000 });
    } catch (error) {
      process.stderr.write(`${JSON.stringify(this.kafkaLog.filter((line) => line.level === 'error').slice(-20), null, 1)}\n`);
      throw error;
    } finally {
      await this.admin.disconnect();
    }
  }
}

/** The header of a consumed message as text. */
export function headerOf(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString();
}
