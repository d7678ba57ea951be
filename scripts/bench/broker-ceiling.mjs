// The broker's ceiling on this machine, measured in the same run as the payments: how many messages a
// second kafkajs, set up exactly as our services set it up (libs/messaging's EventProducer and
// BatchConsumer), produces to and consumes from a throw-away topic.
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCompiledLib } from './compiled-libs.mjs';
import { benchPrefix } from './kafka-counters.mjs';

export const ceilingTopic = `${benchPrefix}broker-ceiling`;
/** As the payment events topic (libs/messaging/src/topics.ts). */
const partitions = 12;
/** About a payment event's size. */
const messageBytes = 300;
/** Messages per send. */
const batchSize = 1_000;
/**
 * Sends in flight at once, one per producer: an idempotent kafkajs producer keeps one request in
 * flight (maxInFlightRequests 1, as ours), so concurrency comes from several producers, as it does
 * from several service replicas.
 */
const producersCount = 4;
/** Reading everything back may not take longer than this. */
const consumeTimeoutMs = 180_000;
const progressPollMs = 50;

/** `{ messages, messageBytes, produce: { seconds, messagesPerSecond }, consume: { seconds, messagesPerSecond, groupJoinSeconds } }`. */
export async function measureBrokerCeiling({ brokers, messages, log }) {
  const { createKafka, EventProducer, BatchConsumer } = await requireCompiledLib('messaging');
  // kafkajs' own lines stay quiet: right after the topic is made, producers retry a few "not the leader" answers, and any failure that matters ends the phase with its error.
  const kafka = createKafka({ brokers, clientId: 'dirigen-bench-ceiling', log: () => {} });
  const admin = kafka.admin();
  await admin.connect();
  const producers = Array.from({ length: producersCount }, () => new EventProducer(kafka));
  const groupId = `${ceilingTopic}.${Date.now()}`;
  let consumer;
  try {
    await recreateTopic(admin);
    await Promise.all(producers.map((producer) => producer.connect()));
    const produce = await produceAll(producers, messages);
    let consumed = 0;
    let firstAt;
    let lastAt;
    const joiningAt = performance.now();
    consumer = new BatchConsumer(kafka, {
      groupId,
      topics: [ceilingTopic],
      handler: async (chunk) => {
        firstAt ??= performance.now();
        consumed += chunk.length;
        lastAt = performance.now();
      },
      deadLetter: { producer: producers[0], topic: ceilingTopic }, // never used: the handler never fails
      log: (level, message) => level === 'error' && log(`consumer: ${message}`),
    });
    await consumer.start(); // resolves once the group is joined and fetching starts (kafkajs consumer.run)
    const joinedAt = performance.now();
    const deadline = performance.now() + consumeTimeoutMs;
    while (consumed < messages && performance.now() < deadline) await sleep(progressPollMs);
    if (consumed < messages) throw new Error(`consumed ${consumed} of ${messages} messages within ${consumeTimeoutMs / 1000} s`);
    // From the joined group's first fetch, not from the first message handed over: a fetch returns up to
    // 1 MiB per partition at once, so a small run could arrive in one piece and look infinitely fast.
    const consumeSeconds = (lastAt - Math.min(joinedAt, firstAt)) / 1000;
    return {
      messages,
      messageBytes,
      partitions,
      produce,
      consume: { seconds: round(consumeSeconds), messagesPerSecond: Math.round(messages / consumeSeconds), groupJoinSeconds: round((joinedAt - joiningAt) / 1000) },
    };
  } finally {
    await consumer?.stop().catch(() => {});
    await Promise.all(producers.map((producer) => producer.disconnect().catch(() => {})));
    await admin.deleteTopics({ topics: [ceilingTopic] }).catch((error) => log(`could not delete ${ceilingTopic}: ${error.message}`));
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}

async function recreateTopic(admin) {
  if ((await admin.listTopics()).includes(ceilingTopic)) {
    await admin.deleteTopics({ topics: [ceilingTopic] }); // left by a run that was killed
    await sleep(1_000);
  }
  await admin.createTopics({ topics: [{ topic: ceilingTopic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
}

/** Every batch sent by the next free producer; the time runs from the first send to the last acknowledgement. */
async function produceAll(producers, messages) {
  const value = Buffer.alloc(messageBytes, 'x');
  const batches = Math.ceil(messages / batchSize);
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(producers.map(async (producer) => {
    while (next < batches) {
      const batch = next++;
      const first = batch * batchSize;
      const count = Math.min(batchSize, messages - first);
      await producer.send(Array.from({ length: count }, (_, index) => ({ topic: ceilingTopic, key: `k${first + index}`, value, headers: {} })));
    }
  }));
  const seconds = (performance.now() - startedAt) / 1000;
  return { seconds: round(seconds), messagesPerSecond: Math.round(messages / seconds) };
}

function round(value) {
  return Math.round(value * 100) / 100;
}
