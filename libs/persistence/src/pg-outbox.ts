import type { OutboundMessage, OutboxRow, OutboxStore } from '@dirigen/messaging';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { quoteIdentifier } from './data-source';
import { preparedQuery } from './prepared-query';
import { vacuumWhereDead, type MaintainedTable } from './table-maintenance';

/** Appends messages to the outbox inside the caller's transaction; returns them as rows, for `OutboxRelay.publishCommitted` after the commit. */
export async function appendToOutbox(manager: EntityManager, schema: string, messages: readonly OutboundMessage[]): Promise<OutboxRow[]> {
  if (messages.length === 0) return [];
  const inserted = await preparedQuery<{ id: string }>(manager, outboxInsertSql(schema, 1), outboxInsertParameters(messages));
  return outboxRowsOf(messages, inserted);
}

/** The append statement (ids returned); its four array parameters start at `$firstParameter`. */
export function outboxInsertSql(schema: string, firstParameter: number): string {
  const [topics, keys, values, headers] = [0, 1, 2, 3].map((offset) => `$${firstParameter + offset}`);
  return `INSERT INTO ${quoteIdentifier(schema)}.outbox (topic, key, value, headers)
     SELECT * FROM unnest(${topics}::text[], ${keys}::text[], ${values}::bytea[], ${headers}::jsonb[])
     RETURNING id`;
}

/**
 * The appended messages with their ids. The ids are drawn from the sequence in the order unnest
 * yields the messages, so sorted ids pair with the messages in order.
 */
export function outboxRowsOf(messages: readonly OutboundMessage[], inserted: readonly { id: string }[]): OutboxRow[] {
  if (inserted.length !== messages.length) throw new Error(`invariant: ${messages.length} outbox rows appended, ${inserted.length} ids returned`);
  const ids = inserted.map((row) => BigInt(row.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return messages.map((message, index) => ({ ...message, id: ids[index]!.toString() }));
}

export function outboxInsertParameters(messages: readonly OutboundMessage[]): unknown[] {
  return [
    messages.map((message) => message.topic),
    messages.map((message) => message.key),
    messages.map((message) => message.value),
    messages.map((message) => JSON.stringify(message.headers)),
  ];
}

/** The outbox of one service schema, drained with SKIP LOCKED under a session advisory lock. */
export class PgOutboxStore implements OutboxStore {
  private leaderConnection: QueryRunner | undefined;
  private readonly table: string;
  /** After an empty round, look with one cheap query before opening a transaction. */
  private lastRoundEmpty = false;
  private compactRefused = false;
  private readonly maintained: MaintainedTable[];

  /** `vacuumTables`: the schema's other tables whose rows churn (a fold updated per event), vacuumed with the outbox. */
  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    vacuumTables: readonly string[] = [],
  ) {
    this.table = `${quoteIdentifier(schema)}.outbox`;
    this.maintained = ['outbox', ...vacuumTables].map((table) => ({ schema, table }));
  }

  /**
   * Runs on the session that holds the leadership lock: if that session died, the lock is gone
   * (another relay may hold it now) and so is this transaction, so a relay that lost leadership
   * without noticing cannot publish alongside the new leader.
   */
  async drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>, olderThanMs: number): Promise<number> {
    const session = this.leaderConnection;
    if (!session) throw new Error('invariant: the outbox is drained only by the relay holding the leadership lock');
    if (this.lastRoundEmpty) {
      // The oldest row, by the primary key's index: one cheap look before opening a transaction.
      const probe: unknown[] = await session.query(
        `SELECT 1 FROM (SELECT created_at FROM ${this.table} ORDER BY id LIMIT 1) oldest WHERE created_at <= now() - $1 * interval '1 millisecond'`,
        [olderThanMs],
      );
      if (probe.length === 0) return 0;
    }
    await session.startTransaction();
    try {
      // TypeORM answers a DELETE … RETURNING on PostgreSQL with [rows, rowCount].
      const [claimed]: [{ id: string; topic: string; key: string; value: Buffer; headers: Record<string, string> }[], number] = await session.query(
        `DELETE FROM ${this.table} WHERE id IN (
           SELECT id FROM ${this.table} WHERE created_at <= now() - $2 * interval '1 millisecond' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, topic, key, value, headers`,
        [limit, olderThanMs],
      );
      claimed.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      if (claimed.length > 0) await publish(claimed);
      await session.commitTransaction();
      this.lastRoundEmpty = claimed.length === 0;
      return claimed.length;
    } catch (error) {
      // A dead session cannot roll back, and needs not: PostgreSQL already discarded the transaction.
      if (session.isTransactionActive) await session.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await preparedQuery(this.dataSource, `DELETE FROM ${this.table} WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /**
   * Every published row leaves a dead tuple behind (and so does every update of a fold); where
   * autovacuum is off (as on some CI machines) the tables and their indexes would grow without end
   * and every lookup would walk them. The service role owns its tables, so it may vacuum them, once
   * they hold enough dead tuples to be worth it; a refusal is reported once.
   */
  async compact(): Promise<void> {
    if (this.compactRefused) return;
    try {
      await vacuumWhereDead(this.dataSource, this.maintained);
    } catch (error) {
      this.compactRefused = true;
      throw new Error(`cannot VACUUM ${this.schema}'s tables; leave it to autovacuum: ${String(error)}`);
    }
  }

  async tryAcquireLeadership(): Promise<boolean> {
    if (!this.leaderConnection) {
      this.leaderConnection = this.dataSource.createQueryRunner();
      await this.leaderConnection.connect();
    }
    const [row] = await this.leaderConnection.query('SELECT pg_try_advisory_lock(hashtext($1)) AS acquired', [`outbox:${this.schema}`]);
    if (row.acquired === true) return true;
    // A standby keeps no session: it would hold a pooled connection for nothing, and leak it on stop.
    await this.releaseLeadership();
    return false;
  }

  async releaseLeadership(): Promise<void> {
    const connection = this.leaderConnection;
    this.leaderConnection = undefined;
    if (!connection) return;
    try {
      await connection.query('SELECT pg_advisory_unlock_all()');
    } finally {
      await connection.release();
    }
  }
}
