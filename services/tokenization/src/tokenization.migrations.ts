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
  sqlMigration('VaultSecurityCodeHolds1764460800000', [
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
];
