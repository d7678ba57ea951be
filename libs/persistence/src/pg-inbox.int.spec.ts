import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceDataSource, migrateServiceDatabase, quoteIdentifier } from './data-source';
import { messagingTablesSql } from './messaging-tables';
import { claimNewEvents } from './pg-inbox';
import { sqlMigration } from './sql-migration';

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
const schema = `inbox_it_${randomBytes(4).toString('hex')}`;
const database = { url: databaseUrl, schema, applicationName: 'pg-inbox.int.spec', poolSizeMax: 4 };
let dataSource: DataSource;
let eventCount = 0;

/** An event id no other test (or earlier run) used. */
const newEventId = () => `evt_${schema}_${++eventCount}`;

beforeAll(async () => {
  await migrateServiceDatabase({ ...database, migrations: [sqlMigration('MessagingTables1700000000000', messagingTablesSql(schema))] });
  dataSource = createServiceDataSource(database);
  await dataSource.initialize();
});

afterAll(async () => {
  await dataSource?.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
  await dataSource?.destroy();
});

describe('claimNewEvents (inbox)', () => {
  it('reports a redelivered event id as already processed, separately for each consumer', async () => {
    const [first, second, third] = [newEventId(), newEventId(), newEventId()];

    const firstDelivery = await dataSource.transaction((manager) => claimNewEvents(manager, schema, 'ledger', [first, second, first]));
    const redelivery = await dataSource.transaction((manager) => claimNewEvents(manager, schema, 'ledger', [second, third]));
    const otherConsumer = await dataSource.transaction((manager) => claimNewEvents(manager, schema, 'notifications', [first]));

    expect(firstDelivery).toEqual(new Set([first, second]));
    expect(redelivery).toEqual(new Set([third]));
    expect(otherConsumer).toEqual(new Set([first]));
    expect(await dataSource.transaction((manager) => claimNewEvents(manager, schema, 'ledger', []))).toEqual(new Set());
  });

  it('does not count a claim made in a transaction that rolled back', async () => {
    const eventId = newEventId();
    const effectsFailed = new Error('applying the event failed');

    const rolledBack = dataSource.transaction(async (manager) => {
      expect(await claimNewEvents(manager, schema, 'ledger', [eventId])).toEqual(new Set([eventId]));
      throw effectsFailed;
    });

    await expect(rolledBack).rejects.toBe(effectsFailed);
    expect(await dataSource.transaction((manager) => claimNewEvents(manager, schema, 'ledger', [eventId]))).toEqual(new Set([eventId]));
  });

  it('lets one of two racing deliveries claim an event: the other waits and then sees it processed, or claims it if the first rolled back', async () => {
    const [committedId, abandonedId] = [newEventId(), newEventId()];
    const [winner, loser] = [dataSource.createQueryRunner(), dataSource.createQueryRunner()];
    try {
      for (const [eventId, outcome] of [
        [committedId, 'commit'],
        [abandonedId, 'rollback'],
      ] as const) {
        await winner.startTransaction();
        await loser.startTransaction();
        expect(await claimNewEvents(winner.manager, schema, 'ledger', [eventId])).toEqual(new Set([eventId]));
        let loserAnswered = false;
        const loserClaim = claimNewEvents(loser.manager, schema, 'ledger', [eventId]).finally(() => (loserAnswered = true));
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(loserAnswered).toBe(false); // blocked on the winner's uncommitted row
        await (outcome === 'commit' ? winner.commitTransaction() : winner.rollbackTransaction());
        expect(await loserClaim).toEqual(outcome === 'commit' ? new Set() : new Set([eventId]));
        await loser.commitTransaction();
      }
    } finally {
      for (const runner of [winner, loser]) {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    }
  });
});
