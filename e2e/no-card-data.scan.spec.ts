import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { CardDataScanner, describeFinding, readEveryKafkaMessage, type ScanUnit } from './support/card-data-scan';
import { cardsSent, dumpDatabaseAnyServer, httpAnswerUnits, lineUnits, logFileUnits, paymentsRecorded, postgresLogBaseline, readPostgresLog, spanUnits } from './support/scan-sources';

// PCI DSS: a card number exists only inside the tokenization vault, encrypted. This runs after the whole e2e
// suite (`npm test` runs the `scan` project next, while its test broker is still up; the platform is stopped):
// every Kafka topic, every log under the suite's data dir, the broker's log, the PostgreSQL server's log, the
// whole database but the vault's ciphertext, every span and every HTTP answer are searched for the card numbers
// the suite sent, in every shape they leak in, and for any Luhn-valid 13–19 digit run.
const dataDir = resolve('.data/test/e2e');
const databaseUrl = process.env.DATABASE_URL ?? '';
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
const brokerLog = process.env.DIRIGEN_TEST_BROKER_LOG ?? resolve('.data/test/logs/kafka.log');
const paymentEventsTopic = 'dirigen.payment-events.v1';

let cards: string[] = [];
// The payments no-card-data.e2e.spec.ts made (none when a filtered run left it out): each must be found in
// the places that should hold it, which proves the scan reads those places and not an empty stand-in.
let paid: string[] = [];

function scanAll(units: ScanUnit[], label: string): string[] {
  const scanner = new CardDataScanner(cards);
  for (const unit of units) scanner.scan(unit);
  console.info(`[card-data scan] ${label}: ${units.length} pieces scanned, ${scanner.findings.length} findings, excused ${JSON.stringify(scanner.excused)}`);
  return scanner.findings.map(describeFinding);
}

function missingPayments(units: ScanUnit[]): string[] {
  const everything = units.map((unit) => unit.text).join('\n');
  return paid.filter((id) => !everything.includes(id));
}

describe('after the whole e2e suite, no card number outside the vault (PCI DSS)', () => {
  beforeAll(() => {
    expect(existsSync(join(dataDir, 'logs')), `no e2e run's data under ${dataDir}: run \`npm test -- e2e\``).toBe(true);
    expect(databaseUrl, 'DATABASE_URL (the e2e database) is set by `npm test`').not.toBe('');
    expect(brokers, 'KAFKA_BROKERS (the test broker) is set by `npm test`').not.toEqual([]);
    cards = cardsSent(dataDir);
    paid = paymentsRecorded(dataDir) ?? [];
    // A filtered run may send no card at all; no-card-data.e2e.spec.ts sends many.
    expect(cards.length > 0 || paid.length === 0, 'the suite recorded the card numbers it sent').toBe(true);
    console.info(`[card-data scan] looking for ${cards.length} card numbers the suite sent, and any Luhn-valid 13–19 digit run; ${paid.length} payments to find`);
  });

  it('finds none in any message of any Kafka topic, read from the beginning', async () => {
    const { topics, units, keys } = await readEveryKafkaMessage(brokers);
    expect(topics).toContain(paymentEventsTopic);
    expect(topics).toContain('__consumer_offsets');
    expect(paid.filter((id) => !keys.has(id))).toEqual([]);
    expect(scanAll(units, `kafka topics ${topics.join(', ')}`)).toEqual([]);
  });

  it('finds none in any line of any log the platform wrote', () => {
    const { files, units } = logFileUnits(dataDir);
    expect(files).toEqual(expect.arrayContaining(['logs/intake-1.log', 'logs/tokenization-1.log', 'logs/tokenization-2.log', 'logs/gateway-1.log', 'logs/psp-simulator.log']));
    expect(missingPayments(units)).toEqual([]);
    expect(scanAll(units, `logs ${files.join(', ')}`)).toEqual([]);
  });

  it("finds none in any line of the test broker's log", () => {
    expect(existsSync(brokerLog), brokerLog).toBe(true);
    expect(scanAll(lineUnits(`broker log ${brokerLog}`, readFileSync(brokerLog, 'latin1')), 'broker log')).toEqual([]);
  });

  it("finds none in the PostgreSQL server's log, as far as the suite wrote it", async () => {
    const { files, unreadable, units } = await readPostgresLog(databaseUrl, postgresLogBaseline(dataDir));
    if (unreadable.length > 0) console.warn(`[card-data scan] PostgreSQL log not readable: ${unreadable.join('; ')}`);
    expect(files, `no PostgreSQL server log could be read: ${unreadable.join('; ')}`).not.toEqual([]);
    expect(scanAll(units, `postgres log ${files.join(', ')}`)).toEqual([]);
  });

  it('finds none in a full dump of the database, the vault ciphertext alone exempt', async () => {
    const { how, units: dump } = await dumpDatabaseAnyServer(databaseUrl);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const vaultRows = await client
      .query<{ row: string }>("SELECT (to_jsonb(card) - 'ciphertext' - 'nonce' - 'auth_tag')::text AS row FROM vault.cards card")
      .finally(() => client.end());
    const units = [...dump, ...vaultRows.rows.map(({ row }, index) => ({ source: `db vault.cards without ciphertext, row ${index + 1}`, text: row }))];
    expect(missingPayments(dump)).toEqual([]);
    expect(vaultRows.rows.length).toBeGreaterThan(0);
    expect(scanAll(units, `database (${how})`)).toEqual([]);
  });

  it('finds none in any span the trace collector received: names, attributes, events, resources', () => {
    const units = spanUnits(dataDir);
    expect(missingPayments(units)).toEqual([]);
    expect(scanAll(units, 'spans')).toEqual([]);
  });

  it('finds none in any HTTP or gRPC answer the suite got, success or error, headers or body', () => {
    const units = httpAnswerUnits(dataDir);
    expect(missingPayments(units)).toEqual([]);
    expect(scanAll(units, 'answers')).toEqual([]);
  });
});
