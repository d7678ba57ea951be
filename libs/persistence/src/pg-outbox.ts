import type { OutboundMessage, OutboxRow, OutboxStore } from '@dirigen/messaging';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { quoteIdentifier } from './data-source';

/** Appends messages to the outbox inside the caller's transaction. */
export async function appendToOutbox(manager: EntityManager, schema: string, messages: readonly OutboundMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await manager.query(outboxInsertSql(schema, 1), outboxInsertParameters(messages));
}

/** The append statement; its four array parameters start at `$firstParameter`. */
export function outboxInsertSql(schema: string, firstParameter: number): string {
  const [topics, keys, values, headers] = [0, 1, 2, 3].map((offset) => `$${firstParameter + offset}`);
  return `INSERT INTO ${quoteIdentifier(schema)}.outbox (topic, key, value, headers)
     SELECT * FROM unnest(${topics}::text[], ${keys}::text[], ${values}::bytea[], ${headers}::jsonb[])`;
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

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
  ) {
    this.table = `${quoteIdentifier(schema)}.outbox`;
  }

  /**
   * Runs on the session that holds the leadership lock: if that session died, the lock is gone
   * (another relay may hold it now) and so is this transaction, so a relay that lost leadership
   * without noticing cannot publish alongside the new leader.
   */
  async drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>): Promise<number> {
    const session = this.leaderConnection;
    if (!session) throw new Error('invariant: the outbox is drained only by the relay holding the leadership lock');
    if (this.lastRoundEmpty) {
      const probe: unknown[] = await session.query(`SELECT 1 FROM ${this.table} LIMIT 1`);
      if (probe.length === 0) return 0;
    }
    await session.startTransaction();
    try {
      // TypeORM answers a DELETE … RETURNING on PostgreSQL with [rows, rowCount].
      const [claimed]: [{ id: string; topic: string; key: string; value: Buffer; headers: Record<string, string> }[], number] = await session.query(
        `DELETE FROM ${this.table} WHERE id IN (SELECT id FROM ${this.table} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, topic, key, value, headers`,
        [limit],
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
