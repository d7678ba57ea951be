import { messagingTablesSql, paymentStatesTableSql, sqlMigration } from '@dirigen/persistence';

export const fraudSchema = 'fraud';

export const fraudMigrations = [
  sqlMigration('FraudInitial1764201600000', [
    ...messagingTablesSql(fraudSchema),
    ...paymentStatesTableSql(fraudSchema),
    `CREATE TABLE fraud.amount_limits (
       merchant_id text NOT NULL,
       currency char(3) NOT NULL,
       decline_above_minor bigint NOT NULL CHECK (decline_above_minor > 0),
       review_above_minor bigint NOT NULL CHECK (review_above_minor > 0),
       PRIMARY KEY (merchant_id, currency)
     )`,
    // merchant_id '*' blocks the BIN for every merchant.
    `CREATE TABLE fraud.blocked_bins (
       merchant_id text NOT NULL,
       bin char(6) NOT NULL,
       reason text NOT NULL,
       PRIMARY KEY (merchant_id, bin)
     )`,
    // Test data that reached production; FraudRemoveSeededTestBin removes it (kept here: applied migrations never change).
    `INSERT INTO fraud.blocked_bins (merchant_id, bin, reason) VALUES ('*', '400011', 'test BIN of reported fraud')`,
  ]),
  // The row above blocked BIN 400011 for every merchant of every deployment, to serve one e2e test (which now
  // inserts its own). Only that row goes: a block an operator added for the same BIN has another reason and stays.
  sqlMigration('FraudRemoveSeededTestBin1796134800000', [
    `DELETE FROM fraud.blocked_bins WHERE merchant_id = '*' AND bin = '400011' AND reason = 'test BIN of reported fraud'`,
  ]),
];

/** Defaults a new merchant gets: amount limits in the common currencies (minor units). */
export function merchantDefaultsSql(merchantId: string): { sql: string; parameters: unknown[] } {
  return {
    sql: `INSERT INTO fraud.amount_limits (merchant_id, currency, decline_above_minor, review_above_minor)
          SELECT $1, currency, decline, review FROM (VALUES
            ('USD', 10000000, 5000000), ('EUR', 10000000, 5000000), ('GBP', 10000000, 5000000),
            ('SGD', 10000000, 5000000), ('JPY', 10000000, 5000000), ('IDR', 150000000000, 75000000000)
          ) AS limits(currency, decline, review)
          ON CONFLICT DO NOTHING`,
    parameters: [merchantId],
  };
}
