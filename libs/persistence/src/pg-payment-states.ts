import type { OutboundMessage, OutboxRow } from '@dirigen/messaging';
import type { EntityManager } from 'typeorm';
import { quoteIdentifier } from './data-source';
import { inboxClaimSql } from './pg-inbox';
import { outboxInsertParameters, outboxInsertSql, outboxRowsOf } from './pg-outbox';
import { preparedQuery } from './prepared-query';

export interface StoredState<State> {
  paymentId: string;
  merchantId: string;
  state: State;
}

/**
 * A service's fold of payment events (`<schema>.payment_states`), read and written in as few
 * round trips as a transaction allows: the inbox claim and the row locks in one statement, the
 * new states and the outbox rows in another. Both must run inside the caller's transaction.
 */
export class PgPaymentStates {
  private readonly states: string;
  private readonly id: string;

  /** `table` and `idColumn` default to the per-service `payment_states`; a read model may keep its own table. */
  constructor(
    private readonly schema: string,
    table = 'payment_states',
    idColumn = 'payment_id',
  ) {
    this.states = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    this.id = quoteIdentifier(idColumn);
  }

  /** Claims the event ids for `consumer` (the fresh ones come back) and locks the payments' current states. */
  async claimAndLock<State>(manager: EntityManager, consumer: string, eventIds: readonly string[], paymentIds: readonly string[]): Promise<{ fresh: Set<string>; states: Map<string, State> }> {
    const rows = await preparedQuery<{ kind: 'claimed' | 'state'; id: string; state: State | null }>(
      manager,
      `WITH claimed AS (${inboxClaimSql(this.schema, '$1', '$2')}),
            locked AS (SELECT ${this.id} AS id, state FROM ${this.states} WHERE ${this.id} = ANY($3::text[]) ORDER BY ${this.id} FOR UPDATE)
       SELECT 'claimed' AS kind, event_id AS id, NULL::jsonb AS state FROM claimed
       UNION ALL SELECT 'state', id, state FROM locked`,
      [consumer, [...new Set(eventIds)], [...new Set(paymentIds)]],
    );
    const fresh = new Set<string>();
    const states = new Map<string, State>();
    for (const row of rows) {
      if (row.kind === 'claimed') fresh.add(row.id);
      else states.set(row.id, row.state!);
    }
    return { fresh, states };
  }

  /** Reads states without locking, for work that must not hold a transaction (a PSP call). */
  async read<State>(manager: EntityManager, paymentIds: readonly string[]): Promise<Map<string, State>> {
    const rows = await preparedQuery<{ id: string; state: State }>(manager, `SELECT ${this.id} AS id, state FROM ${this.states} WHERE ${this.id} = ANY($1::text[])`, [[...new Set(paymentIds)]]);
    return new Map(rows.map((row) => [row.id, row.state]));
  }

  /** Upserts the states and appends the outbox rows, in one statement; returns the rows for `OutboxRelay.publishCommitted`. */
  async saveWithOutbox<State>(manager: EntityManager, states: readonly StoredState<State>[], messages: readonly OutboundMessage[]): Promise<OutboxRow[]> {
    if (states.length === 0 && messages.length === 0) return [];
    const inserted = await preparedQuery<{ id: string }>(
      manager,
      `WITH saved AS (
         INSERT INTO ${this.states} (payment_id, merchant_id, state, updated_at)
         SELECT id, merchant, doc, now() FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS t(id, merchant, doc)
         ON CONFLICT (payment_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
         RETURNING 1
       )
       ${outboxInsertSql(this.schema, 4)}`,
      [
        states.map((entry) => entry.paymentId),
        states.map((entry) => entry.merchantId),
        states.map((entry) => JSON.stringify(entry.state)),
        ...outboxInsertParameters(messages),
      ],
    );
    return outboxRowsOf(messages, inserted);
  }
}
