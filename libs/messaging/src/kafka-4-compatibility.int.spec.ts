import type { Kafka, KafkaMessage, ProducerBatch, ProducerConfig } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchConsumer, type InboundMessage } from './batch-consumer';
import { EventProducer } from './event-producer';
import { KafkaIntegrationEnv, headerOf, waitUntil } from './testing/int-env';
import { provisionTopics } from './topics';

// kafkajs 2.2.4 predates Kafka 4 (which dropped old protocol versions and ZooKeeper):
// these prove the client still provisions, produces, shares a group and honours transactions.

const env = new KafkaIntegrationEnv('kafka4-compat');
const noLog = (): void => undefined;

beforeAll(() => env.setUp());
afterAll(() => env.tearDown());

async function partitionCount(topic: string): Promise<number> {
  const metadata = await env.kafkaAdmin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0]!.partitions.length;
}

/** Lets the real kafkajs producer through, remembering how EventProducer configured and called it. */
function recordingKafka(kafka: Kafka): { kafka: Kafka; configs: ProducerConfig[]; batches: ProducerBatch[] } {
  const configs: ProducerConfig[] = [];
  const batches: ProducerBatch[] = [];
  const recording = Object.create(kafka) as Kafka;
  recording.producer = (config) => {
    configs.push(config ?? {});
    const producer = kafka.producer(config);
    const sendBatch = producer.sendBatch.bind(producer);
    producer.sendBatch = (batch) => {
      batches.push(batch);
      return sendBatch(batch);
    };
    return producer;
  };
  return { kafka: recording, configs, batches };
}

/** The record batch header kafkajs decodes but does not type: who wrote the batch, at which sequence. */
function batchWriter(message: KafkaMessage): { producerId: string; firstSequence: number } {
  return (message as unknown as { batchContext: { producerId: string; firstSequence: number } }).batchContext;
}

describe('kafkajs 2.2.4 against the Kafka 4 broker', () => {
  it('provisions topics with the declared partitions and configs, grows them on a re-run and never shrinks them', async () => {
    const grown = env.trackTopic(env.name('provisioned'));
    const added = env.trackTopic(env.name('provisioned-later'));

    await provisionTopics(env.kafkaAdmin, [{ name: grown, partitions: 2, configs: { 'retention.ms': '3600000' } }]);
    expect(await partitionCount(grown)).toBe(2);
    const described = await env.kafkaAdmin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: grown, configNames: ['retention.ms'] }],
    });
    expect(described.resources[0]!.configEntries).toEqual([expect.objectContaining({ configName: 'retention.ms', configValue: '3600000' })]);

    await provisionTopics(env.kafkaAdmin, [
      { name: grown, partitions: 5 },
      { name: added, partitions: 3 },
    ]);
    expect([await partitionCount(grown), await partitionCount(added)]).toEqual([5, 3]);

    await provisionTopics(env.kafkaAdmin, [
      { name: grown, partitions: 4 },
      { name: added, partitions: 3 },
    ]);
    expect([await partitionCount(grown), await partitionCount(added)]).toEqual([5, 3]);
  });

  it('sends through the idempotent producer with acks from all in-sync replicas, in order, headers intact', async () => {
    const topic = await env.createTopic('idempotent', 1);
    const recording = recordingKafka(env.kafka);
    const producer = new EventProducer(recording.kafka);
    await producer.connect();
    try {
      const message = (sequence: number) => ({ topic, key: 'pay_1', value: Buffer.from(`event-${sequence}`), headers: { 'dirigen-event-type': 'Seq', sequence: String(sequence) } });
      await producer.send([message(0), message(1), message(2)]);
      await producer.send([message(3)]);
    } finally {
      await producer.disconnect();
    }

    expect(recording.configs).toEqual([expect.objectContaining({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })]);
    expect(recording.batches.map((batch) => batch.acks)).toEqual([-1, -1]);
    const read = await env.readTopic(topic, 4);
    expect(read.map((entry) => entry.value!.toString())).toEqual(['event-0', 'event-1', 'event-2', 'event-3']);
    expect(read.map((entry) => headerOf(entry, 'sequence'))).toEqual(['0', '1', '2', '3']);
    // The broker accepted the batches as idempotent: a producer id, and sequences continuing across sends.
    const writers = read.map(batchWriter);
    expect(writers[0]!.producerId).not.toBe('-1');
    expect(new Set(writers.map((writer) => writer.producerId)).size).toBe(1);
    expect([writers[0]!.firstSequence, writers[3]!.firstSequence]).toEqual([0, 3]);
  });

  it('shares the partitions between two BatchConsumer replicas of one group, each message handled once', async () => {
    const topic = await env.createTopic('shared', 4);
    const groupId = env.groupId('shared');
    const producer = new EventProducer(env.kafka);
    await producer.connect();
    const handled: InboundMessage[][] = [[], []];
    const replicas = [0, 1].map(
      (replica) =>
        new BatchConsumer(env.kafka, {
          groupId,
          topics: [topic],
          handler: async (messages) => void handled[replica]!.push(...messages),
          deadLetter: { producer, topic },
          retry: { attemptsMax: 1, backoffInitialMs: 10, backoffMaxMs: 10 },
          log: noLog,
        }),
    );
    try {
      // start() resolves once the member joined; the second join completes the rebalance over both.
      for (const replica of replicas) await replica.start();
      const messageCount = 80;
      await producer.send(
        Array.from({ length: messageCount }, (_, index) => ({ topic, key: `pay_${index}`, value: Buffer.from(String(index)), headers: {} })),
      );
      await waitUntil(`${messageCount} messages were handled`, () => handled[0]!.length + handled[1]!.length >= messageCount);

      const all = [...handled[0]!, ...handled[1]!];
      expect(new Set(all.map((message) => message.value.toString())).size).toBe(messageCount);
      expect(all).toHaveLength(messageCount);
      const partitionsOf = (messages: InboundMessage[]) => new Set(messages.map((message) => message.partition));
      expect(handled[0]!.length).toBeGreaterThan(0);
      expect(handled[1]!.length).toBeGreaterThan(0);
      expect([...partitionsOf(handled[0]!)].filter((partition) => partitionsOf(handled[1]!).has(partition))).toEqual([]);
    } finally {
      for (const replica of replicas) await replica.stop();
      await producer.disconnect();
    }
  });

  it('shows a committed transaction to a read_committed consumer and hides an aborted one', async () => {
    const topic = await env.createTopic('transactional', 1);
    const producer = env.kafka.producer({
      transactionalId: env.name('transactional-id'),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 10_000,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    await producer.connect();
    try {
      for (const [value, outcome] of [
        ['committed', 'commit'],
        ['aborted', 'abort'],
        ['committed-after-abort', 'commit'],
      ] as const) {
        const transaction = await producer.transaction();
        await transaction.send({ topic, acks: -1, messages: [{ key: 'pay_1', value }] });
        await (outcome === 'commit' ? transaction.commit() : transaction.abort());
      }
    } finally {
      await producer.disconnect();
    }

    const committedView = await env.readTopic(topic, 2, { readCommitted: true });
    expect(committedView.map((message) => message.value!.toString())).toEqual(['committed', 'committed-after-abort']);
    // The aborted record is in the log: only the isolation level hides it.
    const uncommittedView = await env.readTopic(topic, 3, { readCommitted: false });
    expect(uncommittedView.map((message) => message.value!.toString())).toEqual(['committed', 'aborted', 'committed-after-abort']);
  });
});
