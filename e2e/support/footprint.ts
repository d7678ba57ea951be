import { Kafka, logLevel } from 'kafkajs';
import { platform, simulatorStats, sql } from './api';

/** Everything a request could leave behind: rows, events, saved cards, held security codes, PSP calls. */
export interface Footprint {
  payments: number;
  paymentIdempotencyKeys: number;
  tokenIdempotencyKeys: number;
  outbox: number;
  vaultCards: number;
  securityCodeHolds: number;
  /** Messages ever written to the platform's topics (payment events, dead letters). */
  events: number;
  /** What the PSP simulator was asked and did. */
  psp: Record<string, unknown>;
}

const kafka = new Kafka({ clientId: 'e2e-footprint', brokers: platform.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
let connected: Promise<void> | undefined;

export async function footprint(): Promise<Footprint> {
  await (connected ??= admin.connect());
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith('dirigen.'));
  const offsets = await Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic)));
  const [counts] = await sql<Record<string, string>>(
    `SELECT (SELECT count(*) FROM intake.payments) AS payments,
            (SELECT count(*) FROM intake.idempotency_keys) AS payment_keys,
            (SELECT count(*) FROM intake.token_idempotency_keys) AS token_keys,
            (SELECT count(*) FROM intake.outbox) AS outbox,
            (SELECT count(*) FROM vault.cards) AS vault_cards,
            (SELECT count(*) FROM vault.security_code_holds) AS holds`,
  );
  const stats = await simulatorStats();
  return {
    payments: Number(counts!.payments),
    paymentIdempotencyKeys: Number(counts!.payment_keys),
    tokenIdempotencyKeys: Number(counts!.token_keys),
    outbox: Number(counts!.outbox),
    vaultCards: Number(counts!.vault_cards),
    securityCodeHolds: Number(counts!.holds),
    events: offsets.flat().reduce((sum, partition) => sum + Number(partition.high), 0),
    psp: {
      requests: stats.requests_served,
      authorizations: stats.authorizations,
      captures: stats.captures,
      cancels: stats.cancels,
      replays: stats.idempotent_replays,
      conflicts: stats.idempotency_conflicts,
    },
  };
}

/** Waits out what earlier tests left in flight (a payment still settling, an outbox still draining): two equal looks in a row. */
export async function settledFootprint(intervalMs = 500, timeoutMs = 30_000): Promise<Footprint> {
  const deadline = Date.now() + timeoutMs;
  let previous = await footprint();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const current = await footprint();
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    if (Date.now() > deadline) throw new Error(`the platform did not settle within ${timeoutMs} ms: ${JSON.stringify(previous)} then ${JSON.stringify(current)}`);
    previous = current;
  }
}

export async function closeFootprint(): Promise<void> {
  if (connected) await admin.disconnect();
  connected = undefined;
}
