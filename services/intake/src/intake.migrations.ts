import { createHash } from 'node:crypto';
import { messagingTablesSql, sqlMigration } from '@dirigen/persistence';
import type { DataSource } from 'typeorm';

export const intakeSchema = 'intake';

export const intakeMigrations = [
  sqlMigration('IntakeInitial1764201600000', [
    ...messagingTablesSql(intakeSchema),
    `CREATE TABLE intake.merchants (
       id text PRIMARY KEY,
       name text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    // Only the SHA-256 of a secret key is stored: keys are 256-bit random, so a plain digest cannot be reversed.
    `CREATE TABLE intake.api_keys (
       key_hash bytea PRIMARY KEY,
       merchant_id text NOT NULL REFERENCES intake.merchants(id),
       key_prefix text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       revoked_at timestamptz
     )`,
    `CREATE TABLE intake.idempotency_keys (
       merchant_id text NOT NULL,
       idempotency_key text NOT NULL,
       request_hash bytea NOT NULL,
       payment_id text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (merchant_id, idempotency_key)
     )`,
    // The payments read model: a projection of the payment events.
    `CREATE TABLE intake.payments (
       id text PRIMARY KEY,
       merchant_id text NOT NULL,
       status text NOT NULL,
       state jsonb NOT NULL,
       created_at timestamptz NOT NULL,
       updated_at timestamptz NOT NULL
     )`,
    'CREATE INDEX payments_merchant_created ON intake.payments (merchant_id, created_at DESC, id DESC)',
    `CREATE TABLE intake.payment_events (
       position bigserial PRIMARY KEY,
       event_id text NOT NULL UNIQUE,
       payment_id text NOT NULL,
       type text NOT NULL,
       occurred_at timestamptz NOT NULL,
       data jsonb NOT NULL
     )`,
    'CREATE INDEX payment_events_payment ON intake.payment_events (payment_id, position)',
  ]),
  // Idempotency-Key for POST /v1/tokens, apart from payment keys so one key may name a payment and a
  // token. A row is a claim while `token` is null, then the remembered answer: the token and its card
  // facts, never the card number or CVC (request_hash is the keyed HMAC of the body, as for payments).
  sqlMigration('IntakeTokenIdempotencyKeys1795795816366', [
    `CREATE TABLE intake.token_idempotency_keys (
       merchant_id text NOT NULL,
       idempotency_key text NOT NULL,
       request_hash bytea NOT NULL,
       claim_id uuid NOT NULL,
       token text,
       card jsonb,
       created_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (merchant_id, idempotency_key),
       CHECK ((token IS NULL) = (card IS NULL))
     )`,
    // Expired keys are purged oldest first.
    'CREATE INDEX token_idempotency_keys_created ON intake.token_idempotency_keys (created_at)',
  ]),
  // Idempotency-Keys kept only as their keyed hash (HMAC-SHA256 under INTAKE_REQUEST_HASH_SECRET,
  // `idempotencyKeyHash`): a key is the merchant's free text, and one with a card number typed into
  // it must not sit in a table in plain text. The secret is not in the database, so existing keys
  // cannot be hashed here: they are erased. Pre-release data: a retry of a request sent before this
  // migration is not recognised as one (a token key would have expired within 24 hours anyway).
  sqlMigration('IntakeIdempotencyKeyHashes1796083200000', [
    'DELETE FROM intake.idempotency_keys',
    `ALTER TABLE intake.idempotency_keys
       DROP COLUMN idempotency_key,
       ADD COLUMN idempotency_key_hash bytea NOT NULL CHECK (octet_length(idempotency_key_hash) = 32),
       ADD PRIMARY KEY (merchant_id, idempotency_key_hash)`,
    'DELETE FROM intake.token_idempotency_keys',
    `ALTER TABLE intake.token_idempotency_keys
       DROP COLUMN idempotency_key,
       ADD COLUMN idempotency_key_hash bytea NOT NULL CHECK (octet_length(idempotency_key_hash) = 32),
       ADD PRIMARY KEY (merchant_id, idempotency_key_hash)`,
  ]),
];

export function apiKeyHash(secretKey: string): Buffer {
  return createHash('sha256').update(secretKey, 'utf8').digest();
}

/** Creates the merchant if missing and registers `secretKey` for it (idempotent). */
export async function seedMerchant(dataSource: DataSource, merchantId: string, secretKey: string | undefined): Promise<void> {
  await dataSource.query('INSERT INTO intake.merchants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [merchantId, `Merchant ${merchantId}`]);
  if (!secretKey) return;
  await dataSource.query(
    'INSERT INTO intake.api_keys (key_hash, merchant_id, key_prefix) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [apiKeyHash(secretKey), merchantId, secretKey.slice(0, 12)],
  );
}
