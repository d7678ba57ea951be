import { randomBytes } from 'node:crypto';
import { BatchConsumer, EventProducer, OutboxRelay, createKafka, provisionTopics, type InboundMessage, type OutboundMessage } from '@dirigen/messaging';
import type { Admin, Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServiceDataSource, migrateServiceDatabase, quoteIdentifier } from './data-source';
import { messagingTablesSql } from './messaging-tables';
import { PgOutboxStore, appendToOutbox } from './pg-outbox';
import { sqlMigration } from './sql-migration';

// The outbox end to end: rows written in a PostgreSQL transaction, relayed by OutboxRelay to the
// real broker, read back with a BatchConsumer.

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');
const runId = randomBytes(4).toString('hex');
const schema = `outbox_it_${runId}`;
const database = { url: databaseUrl, schema, applicationName: 'pg-outbox.int.spec', poolSizeMax: 4 };
// orphanAgeMs 0: these relays sweep every row at once, as when rows are written without `publishCommitted`.
const relayTimingMs = { idlePollMs: 20, leadershipRetryMs: 100, orphanAgeMs: 0 };

let kafka: Kafka;
let admin: Admin;
let producer: EventProducer;
let primary: DataSource;
const dataSources: DataSource[] = [];
const relays: OutboxRelay[] = [];
const topics: string[] = [];
const groups: string[] = [];

interface LogLine {
  level: string;
  message: string;
}

beforeAll(async () => {
  await migrateServiceDatabase({ ...database, migrations: [sqlMigration('MessagingTables1700000000000', messagingTablesSql(schema))] });
  kafka = createKafka({ brokers, clientId: `pg-outbox-it-${runId}`, log: () => undefined });
  admin = kafka.admin({ retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 } });
  await admin.connect();
  producer = new EventProducer(kafka);
  await producer.connect();
  primary = await newReplica();
});

beforeEach(async () => {
  await primary.query(`DELETE FROM ${quoteIdentifier(schema)}.outbox`);
});

afterEach(async () => {
  // Bounded, so that a relay stuck in a publish fails the test instead of hanging the suite.
  for (const relay of relays.splice(0)) {
    await Promise.race([relay.stop(), sleep(5_000).then(() => Promise.reject(new Error('the relay did not stop within 5 s')))]);
  }
});

afterAll(async () => {
  try {
    await producer?.disconnect();
    if (groups.length > 0) await admin.deleteGroups(groups);
    const existing = new Set(await admin.listTopics()); // a test may name a topic it never provisions
    const created = topics.filter((topic) => existing.has(topic));
    if (created.length > 0) await admin.deleteTopics({ topics: created, timeout: 10_000 });
    await admin?.disconnect();
  } finally {
    // Closing the pools first ends any transaction a failed test left open on the schema's tables.
    for (const dataSource of dataSources) await dataSource.destroy();
    const cleanup = await createServiceDataSource(database).initialize();
    await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await cleanup.destroy();
  }
});

/** One service replica's connection pool: replicas of a service share the schema, not the pool. */
async function newReplica(): Promise<DataSource> {
  const dataSource = createServiceDataSource(database);
  await dataSource.initialize();
  dataSources.push(dataSource);
  return dataSource;
}

function startRelay(dataSource: DataSource, publisher: EventProducer, { log = [] as LogLine[], batchSizeMax = 100, publishTimeoutMs = 10_000, orphanAgeMs = relayTimingMs.orphanAgeMs, compactEverySweeps = 30 } = {}): OutboxRelay {
  const relay = new OutboxRelay(new PgOutboxStore(dataSource, schema), publisher, {
    ...relayTimingMs,
    orphanAgeMs,
    compactEverySweeps,
    batchSizeMax,
    publishTimeoutMs,
    log: (level, message) => log.push({ level, message }),
  });
  relays.push(relay);
  relay.start();
  return relay;
}

async function newTopic(provision = true): Promise<string> {
  const topic = `it.outbox.${runId}.${topics.length + 1}`;
  topics.push(topic);
  if (provision) await provisionTopics(admin, [{ name: topic, partitions: 1 }]);
  return topic;
}

/** The backend holding the relay leadership lock of the schema, if any. */
async function leaderBackendPid(): Promise<number | undefined> {
  const [row] = await primary.query(
    `SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND classid::bigint = (hashtext($1)::bigint >> 32) & 4294967295 AND objid::bigint = hashtext($1)::bigint & 4294967295`,
    [`outbox:${schema}`],
  );
  return row?.pid;
}

function paymentEvent(topic: string, value: string): OutboundMessage {
  return { topic, key: 'pay_1', value: Buffer.from(value), headers: { 'dirigen-event-type': 'PaymentCaptured', 'dirigen-event-id': `evt_${value}` } };
}

async function outboxRowCount(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query(`SELECT count(*)::int AS count FROM ${quoteIdentifier(schema)}.outbox`);
  return row.count;
}

async function endOffset(topic: string): Promise<number> {
  const [partition] = await admin.fetchTopicOffsets(topic);
  return Number(partition!.high);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(25);
  }
}

/** Reads `topic` from the beginning until `count` messages arrived. */
async function readTopic(topic: string, count: number): Promise<InboundMessage[]> {
  const groupId = `it.outbox-reader.${runId}.${groups.length + 1}`;
  groups.push(groupId);
  const seen: InboundMessage[] = [];
  const reader = new BatchConsumer(kafka, {
    groupId,
    topics: [topic],
    handler: async (messages) => void seen.push(...messages),
    deadLetter: { producer, topic },
    retry: { attemptsMax: 1, backoffInitialMs: 10, backoffMaxMs: 10 },
    log: () => undefined,
  });
  await reader.start();
  try {
    await waitUntil(`${count} messages were read from ${topic}`, () => seen.length >= count);
  } finally {
    await reader.stop();
  }
  return seen;
}

describe('OutboxRelay with PgOutboxStore', () => {
  it('publishes rows of committed transactions in the order they were written, with their headers, and deletes them', async () => {
    const dataSource = primary;
    const topic = await newTopic();
    const relay = startRelay(dataSource, producer, { batchSizeMax: 2 });
    await dataSource.transaction((manager) => appendToOutbox(manager, schema, ['authorized', 'captured', 'settled'].map((value) => paymentEvent(topic, value))));
    relay.wake();
    await dataSource.transaction((manager) => appendToOutbox(manager, schema, ['refunded', 'refund-settled'].map((value) => paymentEvent(topic, value))));
    relay.wake();

    const published = await readTopic(topic, 5);
    expect(published.map((message) => message.value.toString())).toEqual(['authorized', 'captured', 'settled', 'refunded', 'refund-settled']);
    expect(published.map((message) => [message.key, message.eventType, message.eventId])).toEqual(
      ['authorized', 'captured', 'settled', 'refunded', 'refund-settled'].map((value) => ['pay_1', 'PaymentCaptured', `evt_${value}`]),
    );
    await waitUntil('the relay counted the published rows', () => relay.publishedCount === 5);
    expect(await outboxRowCount(dataSource)).toBe(0);
    expect(await endOffset(topic)).toBe(5);
  });

  it('publishes nothing that a rolled-back transaction appended', async () => {
    const dataSource = primary;
    const topic = await newTopic();
    const relay = startRelay(dataSource, producer);
    const stateWriteFailed = new Error('payment state write failed');

    const rolledBack = dataSource.transaction(async (manager) => {
      await appendToOutbox(manager, schema, [paymentEvent(topic, 'rolled-back')]);
      throw stateWriteFailed;
    });
    await expect(rolledBack).rejects.toBe(stateWriteFailed);
    await dataSource.transaction((manager) => appendToOutbox(manager, schema, [paymentEvent(topic, 'committed')]));
    relay.wake();

    const published = await readTopic(topic, 1);
    expect(published.map((message) => message.value.toString())).toEqual(['committed']);
    expect(await endOffset(topic)).toBe(1);
    expect(relay.publishedCount).toBe(1);
  });

  it('lets one of two relays on a schema lead, and the standby take over when the leader stops', async () => {
    const [firstReplica, secondReplica] = [await newReplica(), await newReplica()];
    const topic = await newTopic();
    const first = startRelay(firstReplica, producer);
    await waitUntil('the first relay leads', () => first.isLeader);
    const second = startRelay(secondReplica, producer);
    await sleep(5 * relayTimingMs.leadershipRetryMs);
    expect([first.isLeader, second.isLeader]).toEqual([true, false]);

    await firstReplica.transaction((manager) => appendToOutbox(manager, schema, [paymentEvent(topic, 'while-first-leads')]));
    await waitUntil('the leader published the row', () => first.publishedCount === 1);
    await first.stop();
    await waitUntil('the standby took over', () => second.isLeader, 5_000);
    await secondReplica.transaction((manager) => appendToOutbox(manager, schema, [paymentEvent(topic, 'after-failover')]));

    const published = await readTopic(topic, 2);
    expect(published.map((message) => message.value.toString())).toEqual(['while-first-leads', 'after-failover']);
    expect([first.publishedCount, second.publishedCount]).toEqual([1, 1]);
  });

  it('keeps the rows when publishing fails and publishes them in a later round', async () => {
    const dataSource = primary;
    const topic = await newTopic();
    const flakyProducer = new EventProducer(kafka);
    await flakyProducer.connect();
    await flakyProducer.disconnect(); // as after losing the broker: every send now fails
    await dataSource.transaction((manager) => appendToOutbox(manager, schema, ['first', 'second', 'third'].map((value) => paymentEvent(topic, value))));
    const log: LogLine[] = [];
    const relay = startRelay(dataSource, flakyProducer, { log });
    try {
      await waitUntil('two rounds failed', () => log.filter((line) => line.message === 'outbox relay round failed').length >= 2);
      expect(await outboxRowCount(dataSource)).toBe(3);
      expect(await endOffset(topic)).toBe(0);

      await flakyProducer.connect();
      await waitUntil('the outbox drained', async () => (await outboxRowCount(dataSource)) === 0);
      const published = await readTopic(topic, 3);
      expect(published.map((message) => message.value.toString())).toEqual(['first', 'second', 'third']);
      expect(relay.publishedCount).toBe(3);
    } finally {
      await relay.stop();
      await flakyProducer.disconnect();
    }
  });

  it('drops leadership when its database session dies, so that exactly one relay leads afterwards', async () => {
    const [firstReplica, secondReplica] = [await newReplica(), await newReplica()];
    const topic = await newTopic();
    const first = startRelay(firstReplica, producer);
    await waitUntil('the first relay leads', () => first.isLeader);
    const second = startRelay(secondReplica, producer);
    const lostSession = await leaderBackendPid();
    expect(lostSession).toBeDefined();

    await primary.query('SELECT pg_terminate_backend($1)', [lostSession]);
    await waitUntil('another session holds the lock', async () => ![undefined, lostSession].includes(await leaderBackendPid()));
    await sleep(3 * relayTimingMs.leadershipRetryMs);

    expect([first.isLeader, second.isLeader].filter(Boolean)).toHaveLength(1);
    const leader = first.isLeader ? first : second;
    const publishedBefore = [first.publishedCount, second.publishedCount];
    await primary.transaction((manager) => appendToOutbox(manager, schema, [paymentEvent(topic, 'after-session-loss')]));
    await waitUntil('the outbox drained', async () => (await outboxRowCount(primary)) === 0);
    expect(leader.publishedCount).toBe((leader === first ? publishedBefore[0]! : publishedBefore[1]!) + 1);
    expect((await readTopic(topic, 1)).map((message) => message.value.toString())).toEqual(['after-session-loss']);
  });

  it("gives a standby relay's database connection back when it stops", async () => {
    const leaderReplica = await newReplica();
    const standbyReplica = createServiceDataSource({ ...database, poolSizeMax: 1 });
    await standbyReplica.initialize();
    dataSources.push(standbyReplica);
    const leader = startRelay(leaderReplica, producer);
    await waitUntil('the first relay leads', () => leader.isLeader);
    const standby = startRelay(standbyReplica, producer);
    await sleep(2 * relayTimingMs.leadershipRetryMs);
    await standby.stop();

    const [row] = await standbyReplica.query('SELECT 1 AS answered');
    expect(row.answered).toBe(1);
  });

  it('gives up a publish the broker never acknowledges, keeps the rows, can still stop, and a later relay publishes them', async () => {
    const topic = await newTopic(false); // rows for a topic not provisioned yet: kafkajs retries forever
    const stuckProducer = new EventProducer(kafka);
    await stuckProducer.connect();
    await primary.transaction((manager) => appendToOutbox(manager, schema, ['first', 'second'].map((value) => paymentEvent(topic, value))));
    const log: LogLine[] = [];
    const stuck = startRelay(primary, stuckProducer, { log, publishTimeoutMs: 300 });
    try {
      const timeouts = () => log.filter((line) => line.message === 'outbox relay round failed').length;
      await waitUntil('a publish timed out', () => timeouts() >= 1, 5_000);
      await sleep(5 * relayTimingMs.leadershipRetryMs);
      expect(timeouts()).toBe(1); // no second send of the same rows while the first may still land
      expect(await outboxRowCount(primary)).toBe(2);
      const stopStartedAt = Date.now();
      await stuck.stop();
      expect(Date.now() - stopStartedAt).toBeLessThan(1_000);

      await provisionTopics(admin, [{ name: topic, partitions: 1 }]);
      startRelay(primary, producer);
      await waitUntil('the outbox drained', async () => (await outboxRowCount(primary)) === 0);
      const published = await readTopic(topic, 2);
      // At least once: the abandoned send may land too, but each row's first copy keeps the order.
      expect([...new Set(published.map((message) => message.value.toString()))]).toEqual(['first', 'second']);
    } finally {
      await stuckProducer.disconnect();
    }
  });

  it('publishes the rows a replica hands over after its commit at once, from that replica even when another one leads, and deletes them', async () => {
    const [leaderReplica, writerReplica] = [await newReplica(), await newReplica()];
    const topic = await newTopic();
    const leader = startRelay(leaderReplica, producer, { orphanAgeMs: 60_000 });
    await waitUntil('the first relay leads', () => leader.isLeader);
    const writer = startRelay(writerReplica, producer, { orphanAgeMs: 60_000 });
    const rows = await writerReplica.transaction((manager) => appendToOutbox(manager, schema, ['authorized', 'captured'].map((value) => paymentEvent(topic, value))));
    expect(rows.map((row) => row.value.toString())).toEqual(['authorized', 'captured']);
    expect(BigInt(rows[0]!.id) < BigInt(rows[1]!.id)).toBe(true);
    writer.publishCommitted(rows);

    const published = await readTopic(topic, 2);
    expect(published.map((message) => message.value.toString())).toEqual(['authorized', 'captured']);
    await waitUntil('the writer deleted its published rows', async () => (await outboxRowCount(primary)) === 0, 5_000);
    expect([leader.isLeader, writer.isLeader]).toEqual([true, false]);
    expect([leader.publishedCount, writer.publishedCount]).toEqual([0, 2]);
  });

  it('leaves a row whose writer never published it (it died after its commit) to the leader, which sweeps it once it is orphanAgeMs old', async () => {
    const topic = await newTopic();
    const orphanAgeMs = 1_500;
    const leader = startRelay(primary, producer, { orphanAgeMs });
    await waitUntil('the relay leads', () => leader.isLeader);
    const writtenAt = Date.now();
    await primary.transaction((manager) => appendToOutbox(manager, schema, [paymentEvent(topic, 'orphaned')]));
    await sleep(orphanAgeMs / 2);
    expect(await outboxRowCount(primary)).toBe(1); // young: its writer may still be publishing it
    expect(await endOffset(topic)).toBe(0);

    expect((await readTopic(topic, 1)).map((message) => message.value.toString())).toEqual(['orphaned']);
    expect(Date.now() - writtenAt).toBeGreaterThanOrEqual(orphanAgeMs);
    expect(leader.publishedCount).toBe(1);
  });

  it('vacuums its outbox table once published rows pile up as dead tuples (where autovacuum is off, nothing else would)', async () => {
    const vacuums = async () => {
      const [row] = await primary.query('SELECT vacuum_count::int AS count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2', [schema, 'outbox']);
      return row.count as number;
    };
    // Rows published and deleted: dead tuples, past the threshold (a thousand, a fifth of the live rows).
    const topic = await newTopic();
    await primary.transaction((manager) => appendToOutbox(manager, schema, Array.from({ length: 1_500 }, (_, index) => paymentEvent(topic, `dead-${index}`))));
    await primary.query(`DELETE FROM ${quoteIdentifier(schema)}.outbox`);
    await waitUntil('the statistics count the dead tuples', async () => {
      const [row] = await primary.query('SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2', [schema, 'outbox']);
      return row.dead >= 1_000;
    });
    const before = await vacuums();
    startRelay(primary, producer, { compactEverySweeps: 2 });
    await waitUntil('the relay vacuumed its outbox', async () => (await vacuums()) > before, 5_000);
  });
});
