import { sqlMigration } from '@dirigen/persistence';

export const vaultSchema = 'vault';

export const tokenizationMigrations = [
  sqlMigration('VaultInitial1764201600000', [
    // Ciphertext plus the card facts that may leave the vault. No CVC column, ever.
    `CREATE TABLE vault.cards (
       token text PRIMARY KEY,
       merchant_id text NOT NULL,
       key_version integer NOT NULL,
       nonce bytea NOT NULL,
       ciphertext bytea NOT NULL,
       auth_tag bytea NOT NULL,
       brand text NOT NULL,
       last4 char(4) NOT NULL,
       bin char(6) NOT NULL,
       exp_month smallint NOT NULL,
       exp_year smallint NOT NULL,
       fingerprint text NOT NULL,
       cvc_supplied boolean NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    'CREATE INDEX cards_merchant_fingerprint ON vault.cards (merchant_id, fingerprint)',
    // Append-only: who detokenized what, when, and why.
    `CREATE TABLE vault.detokenize_audit (
       id bigserial PRIMARY KEY,
       caller text NOT NULL,
       merchant_id text NOT NULL,
       token text NOT NULL,
       purpose text NOT NULL,
       payment_id text,
       outcome text NOT NULL,
       at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE FUNCTION vault.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'vault.detokenize_audit is append-only'; END $$`,
    `CREATE TRIGGER detokenize_audit_append_only BEFORE UPDATE OR DELETE ON vault.detokenize_audit
       FOR EACH ROW EXECUTE FUNCTION vault.refuse_audit_change()`,
  ]),
  sqlMigration('VaultEnvelopeKeys1795795200000', [
    // Which KEK versions exist: a check value per version (never the key), so wrong shares are caught at start.
    `CREATE TABLE vault.key_encryption_keys (
       version integer PRIMARY KEY CHECK (version > 0),
       check_value bytea NOT NULL,
       state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
       created_at timestamptz NOT NULL DEFAULT now(),
       retired_at timestamptz
     )`,
    // Per-merchant data keys, only ever stored wrapped; a retired version keeps its row but loses its key.
    `CREATE TABLE vault.data_keys (
       merchant_id text NOT NULL,
       purpose text NOT NULL CHECK (purpose IN ('card', 'fingerprint')),
       version integer NOT NULL CHECK (version > 0),
       kek_version integer NOT NULL REFERENCES vault.key_encryption_keys (version),
       wrapped bytea,
       state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
       created_at timestamptz NOT NULL DEFAULT now(),
       retired_at timestamptz,
       PRIMARY KEY (merchant_id, purpose, version),
       CHECK ((state = 'active') = (wrapped IS NOT NULL))
     )`,
    'CREATE INDEX data_keys_kek_version ON vault.data_keys (kek_version)',
    'ALTER TABLE vault.cards RENAME COLUMN key_version TO data_key_version',
    // Records sealed under the first release's derived keys name no stored data key: they fail closed.
    'UPDATE vault.cards SET data_key_version = 0',
    'CREATE INDEX cards_merchant_data_key_version ON vault.cards (merchant_id, data_key_version)',
  ]),
  // Row triggers do not fire on TRUNCATE, which the owner (dirigen_vault) may run: refuse it too.
  sqlMigration('VaultAuditNoTruncate1795795300000', [
    `CREATE TRIGGER detokenize_audit_no_truncate BEFORE TRUNCATE ON vault.detokenize_audit
       FOR EACH STATEMENT EXECUTE FUNCTION vault.refuse_audit_change()`,
  ]),
  sqlMigration('VaultSecurityCodeHolds1795795400000', [
    // That a security code was given for a payment with a saved card: never the code (it lives in
    // memory only). After a vault restart the code is gone but this row is not, so the payment's
    // authorization fails with cvc_expired instead of going out without the code.
    `CREATE TABLE vault.security_code_holds (
       token text NOT NULL,
       payment_id text NOT NULL,
       held_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (token, payment_id)
     )`,
  ]),
  sqlMigration('VaultSecurityCodeHoldsHeldAt1795795500000', [
    // The sweeper forgets holds past retention by age.
    'CREATE INDEX security_code_holds_held_at ON vault.security_code_holds (held_at)',
  ]),
  sqlMigration('VaultCardUse1795795600000', [
    // One payment's card or a merchant's saved card: decides retention (PCI DSS 3.2.1). Cards stored
    // before this knew no difference and stay as saved ones (never destroyed unasked).
    "ALTER TABLE vault.cards ADD COLUMN kind text NOT NULL DEFAULT 'saved' CHECK (kind IN ('payment', 'saved'))",
    'ALTER TABLE vault.cards ALTER COLUMN kind DROP DEFAULT',
    'CREATE INDEX cards_kind_created_at ON vault.cards (kind, created_at)',
  ]),
  sqlMigration('VaultTokenizeRequestId1795795700000', [
    // A caller's idempotency for a tokenization: the same merchant and request id store the card once.
    'ALTER TABLE vault.cards ADD COLUMN request_id text',
    'CREATE UNIQUE INDEX cards_merchant_request_id ON vault.cards (merchant_id, request_id) WHERE request_id IS NOT NULL',
  ]),
  sqlMigration('VaultHeldSecurityCodes1795795800000', [
    // Security codes held until the authorization that needs them is recorded, so that any vault
    // replica can serve it (PCI DSS v4.0 3.3.2: sensitive authentication data stored before
    // authorization completes is encrypted with strong cryptography). Ciphertext only: AES-256-GCM
    // under the merchant's card data key, merchant, token and payment bound in as associated data.
    // `payment_id` is '' for the code given when the card was tokenized, else the payment it was
    // held for (HoldSecurityCode, which refuses an empty id). The vault erases a row when the
    // authorization is recorded (ReleaseSecurityCode), when its card is destroyed (the cascade),
    // and the retention sweeper within a minute after `expires_at`.
    // UNLOGGED: never written to the WAL, so never in WAL archives, streaming standbys or base
    // backups (pg_basebackup skips unlogged data); a PostgreSQL crash empties it, and the payments
    // whose code it held fail closed with cvc_expired (vault.cards.cvc_supplied and
    // vault.security_code_holds still say a code was given).
    `CREATE UNLOGGED TABLE vault.held_security_codes (
       token text NOT NULL REFERENCES vault.cards (token) ON DELETE CASCADE,
       payment_id text NOT NULL,
       merchant_id text NOT NULL,
       data_key_version integer NOT NULL,
       nonce bytea NOT NULL,
       ciphertext bytea NOT NULL,
       auth_tag bytea NOT NULL,
       expires_at timestamptz NOT NULL,
       PRIMARY KEY (token, payment_id)
     )`,
    'CREATE INDEX held_security_codes_expires_at ON vault.held_security_codes (expires_at)',
    'CREATE INDEX held_security_codes_merchant_data_key_version ON vault.held_security_codes (merchant_id, data_key_version)',
  ]),
];
