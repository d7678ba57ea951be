import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { platform } from './api';

const paymentEventsTopic = 'dirigen.payment-events.v1';
const readTimeoutMs = 30_000;

export interface PublishedEvent {
  type: string;
  eventId: string;
  offset: string;
}

/**
 * Every message the payment events topic holds for one payment (key = payment id), in order, as
 * published: duplicates included, so a test can tell a republished event from a second outcome.
 */
export async function publishedEventsOf(paymentId: string): Promise<PublishedEvent[]> {
  const kafka = new Kafka({ clientId: 'e2e-payment-topic', brokers: platform.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `e2e-payment-topic-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
  try {
    const ends = new Map((await admin.fetchTopicOffsets(paymentEventsTopic)).map(({ partition, high, low }) => [partition, { high: BigInt(high), low: BigInt(low) }]));
    const unread = new Set([...ends].filter(([, { high, low }]) => high > low).map(([partition]) => partition));
    const events: PublishedEvent[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.connect();
    await consumer.subscribe({ topics: [paymentEventsTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition)!.high;
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= end) break;
          if (message.key?.toString() === paymentId) {
            events.push({ type: String(message.headers?.['dirigen-event-type'] ?? ''), eventId: String(message.headers?.['dirigen-event-id'] ?? ''), offset: message.offset });
          }
          if (BigInt(message.offset) === end - 1n) unread.delete(batch.partition);
        }
        if (unread.size === 0) done();
      },
    });
    if (unread.size === 0) done();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`could not read ${paymentEventsTopic} to its end within ${readTimeoutMs} ms`)), readTimeoutMs).unref());
    await Promise.race([finished, timeout]);
    return events;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
