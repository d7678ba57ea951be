import type { OutboundMessage, OutboxRow, OutboxStore } from '@dirigen/messaging';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { quoteIdentifier } from './data-source';

/** Appends messages to the outbox inside the caller's transaction. */
export async function appendToOutbox(manager: EntityManager, schema: string, messages: readonly OutboundMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await manager.query(
    `INSERT INTO ${quoteIdentifier(schema)}.outbox (topic, key, value, headers)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[])`,
    [
      messages.map((message) => message.topic),
      messages.map((message) => message.key),
      messages.map((message) => message.value),
      messages.map((message) => JSON.stringify(message.headers)),
    ],
  );
}

/** The outbox of one service schema, drained with SKIP LOCKED under a session advisory lock. */
export class PgOutboxStore implements OutboxStore {
  private leaderConnection: QueryRunner | undefined;
  private readonly table: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
  ) {
    this.table = `${quoteIdentifier(schema)}.outbox`;
  }

  async drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      // TypeORM answers a DELETE … RETURNING on PostgreSQL with [rows, rowCount].
      const [claimed]: [{ id: string; topic: string; key: string; value: Buffer; headers: Record<string, string> }[], number] = await manager.query(
        `DELETE FROM ${this.table} WHERE id IN (SELECT id FROM ${this.table} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, topic, key, value, headers`,
        [limit],
      );
      if (claimed.length === 0) return 0;
      claimed.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      await publish(claimed);
      return claimed.length;
    });
  }

  async tryAcquireLeadership(): Promise<boolean> {
    if (!this.leaderConnection) {
      this.leaderConnection = this.dataSource.createQueryRunner();
      await this.leaderConnection.connect();
    }
    const [row] = await this.leaderConnection.query('SELECT pg_try_advisory_lock(hashtext($1)) AS acquired', [`outbox:${this.schema}`]);
    return row.acquired === true;
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
