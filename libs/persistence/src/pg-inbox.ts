import type { EntityManager } from 'typeorm';
import { quoteIdentifier } from './data-source';

/**
 * Claims event ids for `consumer` inside the caller's transaction and returns the ones not
 * seen before: effects of a redelivered event are skipped, exactly once per consumer.
 */
export async function claimNewEvents(manager: EntityManager, schema: string, consumer: string, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows: { event_id: string }[] = await manager.query(inboxClaimSql(schema, '$1', '$2'), [consumer, [...new Set(eventIds)]]);
  return new Set(rows.map((row) => row.event_id));
}

/** The claim statement, with the parameter placeholders of the consumer name and the event id array. */
export function inboxClaimSql(schema: string, consumerParameter: string, eventIdsParameter: string): string {
  return `INSERT INTO ${quoteIdentifier(schema)}.inbox (consumer, event_id)
     SELECT ${consumerParameter}, unnest(${eventIdsParameter}::text[]) ON CONFLICT DO NOTHING RETURNING event_id`;
}
