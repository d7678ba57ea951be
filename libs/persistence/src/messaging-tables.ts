import { quoteIdentifier } from './data-source';

/** DDL of the outbox and inbox every event-producing service keeps in its own schema. */
export function messagingTablesSql(schema: string): string[] {
  const s = quoteIdentifier(schema);
  return [
    `CREATE TABLE ${s}.outbox (
       id bigserial PRIMARY KEY,
       topic text NOT NULL,
       key text NOT NULL,
       value bytea NOT NULL,
       headers jsonb NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    // Consumer-side de-duplication: an event id is claimed in the same transaction as its effects.
    `CREATE TABLE ${s}.inbox (
       consumer text NOT NULL,
       event_id text NOT NULL,
       processed_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer, event_id)
     )`,
  ];
}

/** DDL of the per-service fold of payment events (the state a service decides on). */
export function paymentStatesTableSql(schema: string): string[] {
  return [
    `CREATE TABLE ${quoteIdentifier(schema)}.payment_states (
       payment_id text PRIMARY KEY,
       merchant_id text NOT NULL,
       state jsonb NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
  ];
}
