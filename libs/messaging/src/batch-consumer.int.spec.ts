import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchConsumer, PermanentMessageError, eventIdHeader, eventTypeHeader, type BatchConsumerOptions, type InboundMessage } from './batch-consumer';
import { EventProducer, type OutboundMessage } from './event-producer';
import { KafkaIntegrationEnv, gate, headerOf, waitUntil, type LogLine } from './testing/int-env';

const env = new KafkaIntegrationEnv('batch-consumer');
let producer: EventProducer;
const started: BatchConsumer[] = [];
const fastRetry = { attemptsMax: 3, backoffInitialMs: 10, backoffMaxMs: 20 };

beforeAll(async () => {
  await env.setUp();
  producer = new EventProducer(env.kafka);
  await producer.connect();
});

afterEach(async () => {
  for (const consumer of started.splice(0)) if (consumer.isRunning) await consumer.stop();
});

afterAll(async () => {
  await producer?.disconnect();
  await env.tearDown();
});

interface Fixture {
  topic: string;
  deadLetterTopic: string;
  groupId: string;
  log: LogLine[];
  start: (options: Pick<BatchConsumerOptions, 'handler'> & Partial<BatchConsumerOptions>) => Promise<BatchConsumer>;
}

/** A fresh topic, dead-letter topic and group; `start` runs a consumer of them that the test may override. */
async function fixture(partitions = 1): Promise<Fixture> {
  const topic = await env.createTopic('events', partitions);
  const deadLetterTopic = await env.createTopic('dead-letter', 1);
  const groupId = env.groupId('consumer');
  const log: LogLine[] = [];
  return {
    topic,
    deadLetterTopic,
    groupId,
    log,
    start: async (options) => {
      const consumer = new BatchConsumer(env.kafka, {
        groupId,
        topics: [topic],
        deadLetter: { producer, topic: deadLetterTopic },
        retry: fastRetry,
        log: (level, message, extra) => log.push({ level, message, extra }),
        ...options,
      });
      started.push(consumer);
      await consumer.start();
      return consumer;
    },
  };
}

function event(topic: string, key: string, value: string, eventType = 'PaymentCaptured'): OutboundMessage {
  return { topic, key, value: Buffer.from(value), headers: { [eventTypeHeader]: eventType, [eventIdHeader]: `evt_${value}` } };
}

const valuesOf = (messages: readonly InboundMessage[]) => messages.map((message) => message.value.toString());

describe('BatchConsumer', () => {
  it('hands messages over in chunks of at most chunkSizeMax, each key in the order it was written', async () => {
    const { topic, start } = await fixture(2);
    const keys = ['pay_a', 'pay_b', 'pay_c'];
    await producer.send(Array.from({ length: 30 }, (_, index) => event(topic, keys[index % 3]!, `${keys[index % 3]}:${Math.floor(index / 3)}`)));
    const chunks: InboundMessage[][] = [];
    await start({ chunkSizeMax: 4, handler: async (messages) => void chunks.push([...messages]) });
    await waitUntil('30 messages were handled', () => chunks.flat().length >= 30);

    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBe(4);
    for (const chunk of chunks) {
      expect(new Set(chunk.map((message) => message.partition)).size).toBe(1);
      expect(chunk.map((message) => Number(message.offset))).toEqual(chunk.map((_, index) => Number(chunk[0]!.offset) + index));
    }
    const delivered = chunks.flat();
    expect(delivered).toHaveLength(30);
    for (const key of keys) {
      const sequence = delivered.filter((message) => message.key === key).map((message) => Number(message.value.toString().split(':')[1]));
      expect(sequence).toEqual(Array.from({ length: 10 }, (_, index) => index));
    }
  });

  it('retries a failing chunk whole with doubling backoff, then succeeds without dead-lettering', async () => {
    const { topic, deadLetterTopic, groupId, log, start } = await fixture();
    await producer.send(['m0', 'm1', 'm2'].map((value) => event(topic, 'pay_1', value)));
    const calls: { at: number; values: string[] }[] = [];
    await start({
      retry: { attemptsMax: 5, backoffInitialMs: 100, backoffMaxMs: 1_000 },
      handler: async (messages) => {
        calls.push({ at: Date.now(), values: valuesOf(messages) });
        if (calls.length <= 3) throw new Error('database unavailable');
      },
    });
    await waitUntil('the group committed past the chunk', async () => (await env.committedOffset(groupId, topic, 0)) === 3);

    expect(calls.map((call) => call.values)).toEqual(Array.from({ length: 4 }, () => ['m0', 'm1', 'm2']));
    // Jittered to between half and all of 100, 200, then 400 ms; 10 ms spared for timer skew.
    const waitsMs = calls.slice(1).map((call, index) => call.at - calls[index]!.at);
    expect(waitsMs[0]).toBeGreaterThanOrEqual(40);
    expect(waitsMs[1]).toBeGreaterThanOrEqual(90);
    expect(waitsMs[2]).toBeGreaterThanOrEqual(190);
    expect(log.filter((line) => line.message === 'handler failed, retrying').map((line) => line.extra?.['attempt'])).toEqual([1, 2, 3]);
    expect(await env.endOffset(deadLetterTopic, 0)).toBe(0);
  });

  it('dead-letters a message the handler rejects as permanent, with group, source and reason, and handles the rest of its chunk', async () => {
    const { topic, deadLetterTopic, groupId, start } = await fixture();
    await producer.send(['m0', 'm1', 'poison', 'm3', 'm4'].map((value) => event(topic, `key_${value}`, value)));
    const handled: string[] = [];
    let poisonAttempts = 0;
    await start({
      chunkSizeMax: 10,
      handler: async (messages) => {
        if (valuesOf(messages).includes('poison')) {
          poisonAttempts += 1;
          throw new PermanentMessageError('capture of a refunded payment');
        }
        handled.push(...valuesOf(messages));
      },
    });

    const [deadLetter, ...others] = await env.readTopic(deadLetterTopic, 1);
    await waitUntil('the group committed past the chunk', async () => (await env.committedOffset(groupId, topic, 0)) === 5);
    expect(others).toEqual([]);
    expect(handled).toEqual(['m0', 'm1', 'm3', 'm4']);
    expect(poisonAttempts).toBe(2); // the chunk once, then the message alone once: no retry of a permanent error
    expect(deadLetter!.key!.toString()).toBe('key_poison');
    expect(deadLetter!.value!.toString()).toBe('poison');
    expect(headerOf(deadLetter!, eventTypeHeader)).toBe('PaymentCaptured');
    expect(headerOf(deadLetter!, eventIdHeader)).toBe('evt_poison');
    expect(headerOf(deadLetter!, 'dirigen-dlq-group')).toBe(groupId);
    expect(headerOf(deadLetter!, 'dirigen-dlq-source')).toBe(`${topic}/0/2`);
    expect(headerOf(deadLetter!, 'dirigen-dlq-reason')).toBe('capture of a refunded payment');
    expect(await env.endOffset(deadLetterTopic, 0)).toBe(1);
  });

  it('keeps retrying a chunk that fails transiently, past attemptsMax, and never dead-letters it: an outage delays, it does not lose', async () => {
    const { topic, deadLetterTopic, groupId, start, log } = await fixture();
    await producer.send(['m0', 'flaky', 'm2'].map((value) => event(topic, 'pay_1', value)));
    const handled: string[] = [];
    let failuresLeft = 7;
    await start({
      retry: { attemptsMax: 3, backoffInitialMs: 10, backoffMaxMs: 20 },
      handler: async (messages) => {
        if (valuesOf(messages).includes('flaky') && failuresLeft-- > 0) throw new Error('database unavailable');
        handled.push(...valuesOf(messages));
      },
    });

    await waitUntil('the group committed past the chunk', async () => (await env.committedOffset(groupId, topic, 0)) === 3);
    expect(handled).toEqual(['m0', 'flaky', 'm2']);
    expect(failuresLeft).toBe(-1);
    // Every third failure is logged as an error for alerting; the rest as warnings.
    expect(log.filter((line) => line.message === 'handler still failing, retrying').map((line) => line.extra?.['attempt'])).toEqual([3, 6]);
    expect(await env.endOffset(deadLetterTopic, 0)).toBe(0);
  });

  it('skips event types it was not asked for without handing them over, and still commits past them', async () => {
    const { topic, groupId, start } = await fixture();
    await producer.send([
      event(topic, 'pay_1', 'captured-1', 'PaymentCaptured'),
      event(topic, 'pay_1', 'refund-1', 'RefundRequested'),
      event(topic, 'pay_1', 'captured-2', 'PaymentCaptured'),
      event(topic, 'pay_1', 'failed-1', 'PaymentFailed'),
      event(topic, 'pay_1', 'refund-2', 'RefundRequested'),
      { topic, key: 'pay_1', value: Buffer.from('untyped'), headers: {} },
    ]);
    const calls: string[][] = [];
    await start({
      chunkSizeMax: 2,
      eventTypes: new Set(['PaymentCaptured', 'PaymentFailed']),
      handler: async (messages) => void calls.push(valuesOf(messages)),
    });
    // The last chunk holds only unwanted messages: the commit reaching 6 proves they were acknowledged.
    await waitUntil('the group committed past every message', async () => (await env.committedOffset(groupId, topic, 0)) === 6);

    expect(calls).toEqual([['captured-1'], ['captured-2', 'failed-1']]);
  });

  it('on stop() finishes the chunk in hand, commits it, and leaves the rest to the next consumer of the group', async () => {
    const { topic, groupId, start } = await fixture();
    await producer.send(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'].map((value) => event(topic, 'pay_1', value)));
    const firstChunk = gate();
    const entered = gate();
    const handledByFirst: string[] = [];
    const first = await start({
      chunkSizeMax: 2,
      handler: async (messages) => {
        entered.open();
        await firstChunk.opened;
        handledByFirst.push(...valuesOf(messages));
      },
    });
    await entered.opened;
    const stopped = first.stop();
    firstChunk.open();
    await stopped;

    expect(handledByFirst).toEqual(['m0', 'm1']);
    expect(await env.committedOffset(groupId, topic, 0)).toBe(2);

    const handledBySecond: string[] = [];
    await start({ chunkSizeMax: 2, handler: async (messages) => void handledBySecond.push(...valuesOf(messages)) });
    await waitUntil('the restarted consumer handled the rest', () => handledBySecond.length >= 4);
    expect(handledBySecond).toEqual(['m2', 'm3', 'm4', 'm5']);
  });
});
