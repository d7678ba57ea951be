import { preparedQuery, StatementBatcher } from '@dirigen/persistence';
import type { DataSource } from 'typeorm';
import type { CardUse, DetokenizeRequest } from './card-vault';
import { codeGivenAtTokenization, heldSecurityCodeColumns, type SealedSecurityCodeColumns, sealedSecurityCodeSelect } from './held-security-codes';

/**
 * A card record as detokenize reads it: its ciphertext, and the security codes held for it (ciphertext
 * too, unexpired only): `payment_code` for the payment asked about, `tokenization_code` given when the
 * card was tokenized. `hold_recorded`: a code was held for that payment (possibly erased since).
 */
export type CardRow = {
  data_key_version: number;
  nonce: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
  cvc_supplied: boolean;
  kind: CardUse;
  hold_recorded: boolean;
} & SealedSecurityCodeColumns<'payment_code'> & SealedSecurityCodeColumns<'tokenization_code'>;

/** Items (cards, reads, audit rows, releases) in one statement at most; and such statements of a kind running at once. */
const vaultWriteBatchSizeMax = 500;
const vaultWritesInFlightMax = 2;

export interface AuditRow {
  caller: string;
  request: DetokenizeRequest;
  outcome: string;
}

/** A new card and the security code given with it, sealed, as one tokenize stores them. */
export interface NewCard {
  token: string;
  merchantId: string;
  sealed: { keyVersion: number; nonce: Buffer; ciphertext: Buffer; authTag: Buffer };
  facts: { brand: string; last4: string; bin: string; expMonth: number; expYear: number };
  fingerprint: string;
  use: CardUse;
  requestId: string | null;
  code: { keyVersion: number; nonce: Buffer; ciphertext: Buffer; authTag: Buffer };
}

export interface Release {
  merchantId: string;
  token: string;
  paymentId: string | null;
}

/**
 * The vault's hot reads and writes, each gathered into one multi-row statement when calls overlap
 * (`StatementBatcher`: group commit in the application, no timers): new cards with their security
 * codes, the card records detokenize reads, detokenize audit rows, security code releases. A call
 * answers only once the statement holding its row committed.
 */
export class VaultRecords {
  /** Detokenize audit rows, written together when calls overlap; a call answers only once its row committed. */
  private readonly auditRows: StatementBatcher<AuditRow, void>;
  private readonly releases: StatementBatcher<Release, void>;
  /** Card records read for detokenize, together when calls overlap (one query for a gateway's burst). */
  private readonly cardReads: StatementBatcher<DetokenizeRequest, CardRow | undefined>;
  /** New cards, stored together when tokenize calls overlap; answers whether each was stored (false: its request id was taken). */
  private readonly newCards: StatementBatcher<NewCard, boolean>;


  constructor(
    private readonly dataSource: DataSource,
    private readonly securityCodeTtlSeconds: number,
  ) {
    const batching = { batchSizeMax: vaultWriteBatchSizeMax, inFlightMax: vaultWritesInFlightMax };
    this.auditRows = new StatementBatcher((rows) => this.writeAuditRows(rows), batching);
    this.releases = new StatementBatcher((releases) => this.writeReleases(releases), batching);
    this.newCards = new StatementBatcher((cards) => this.writeNewCards(cards), batching);
    this.cardReads = new StatementBatcher((requests) => this.readCards(requests), batching);
  }

  /** Stores a new card and its security code; false when its request id was already taken. */
  storeNewCard(card: NewCard): Promise<boolean> {
    return this.newCards.submit(card);
  }

  readCard(request: DetokenizeRequest): Promise<CardRow | undefined> {
    return this.cardReads.submit(request);
  }

  release(release: Release): Promise<void> {
    return this.releases.submit(release);
  }

  audit(row: AuditRow): Promise<void> {
    return this.auditRows.submit(row);
  }

  /**
   * One statement for many cards: each card and its security code are stored together or not at
   * all; a card whose (merchant, request id) is already taken — by an earlier statement or an
   * earlier card of this one — is not stored.
   */
  private async writeNewCards(cards: readonly NewCard[]): Promise<boolean[]> {
    const column = <T>(value: (card: NewCard) => T) => cards.map(value);
    const stored = await preparedQuery<{ token: string }>(
      this.dataSource,
      `WITH given AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bytea[], $5::bytea[], $6::bytea[], $7::text[], $8::text[], $9::text[], $10::int[], $11::int[], $12::text[],
                              $13::text[], $14::text[], $15::int[], $16::bytea[], $17::bytea[], $18::bytea[])
           AS g(token, merchant_id, data_key_version, nonce, ciphertext, auth_tag, brand, last4, bin, exp_month, exp_year, fingerprint,
                kind, request_id, code_key_version, code_nonce, code_ciphertext, code_auth_tag)
       ), card AS (
         INSERT INTO vault.cards (token, merchant_id, data_key_version, nonce, ciphertext, auth_tag, brand, last4, bin, exp_month, exp_year, fingerprint, cvc_supplied, kind, request_id)
         SELECT token, merchant_id, data_key_version, nonce, ciphertext, auth_tag, brand, last4, bin, exp_month, exp_year, fingerprint, true, kind, request_id FROM given
         ON CONFLICT (merchant_id, request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING token)
       INSERT INTO vault.held_security_codes (${heldSecurityCodeColumns})
       SELECT g.token, '${codeGivenAtTokenization}', g.merchant_id, g.code_key_version, g.code_nonce, g.code_ciphertext, g.code_auth_tag, now() + make_interval(secs => $19)
       FROM given g JOIN card USING (token) RETURNING token`,
      [
        column((card) => card.token), column((card) => card.merchantId), column((card) => card.sealed.keyVersion), column((card) => card.sealed.nonce),
        column((card) => card.sealed.ciphertext), column((card) => card.sealed.authTag), column((card) => card.facts.brand), column((card) => card.facts.last4),
        column((card) => card.facts.bin), column((card) => card.facts.expMonth), column((card) => card.facts.expYear), column((card) => card.fingerprint),
        column((card) => card.use), column((card) => card.requestId), column((card) => card.code.keyVersion), column((card) => card.code.nonce),
        column((card) => card.code.ciphertext), column((card) => card.code.authTag), this.securityCodeTtlSeconds,
      ],
    );
    const storedTokens = new Set(stored.map((row) => row.token));
    return cards.map((card) => storedTokens.has(card.token));
  }

  /**
   * The card records and held codes that detokenize requests ask for, in one query: for each, its card
   * if the merchant owns the token (another merchant's token is indistinguishable from a missing one),
   * the code held for its payment and the one given at tokenization (unexpired only: an expired code
   * is as good as erased), and whether a code was ever held for that payment.
   */
  private async readCards(requests: readonly DetokenizeRequest[]): Promise<(CardRow | undefined)[]> {
    const rows = await preparedQuery<CardRow & { position: string }>(
      this.dataSource,
      `SELECT a.position, c.data_key_version, c.nonce, c.ciphertext, c.auth_tag, c.cvc_supplied, c.kind,
              ${sealedSecurityCodeSelect('p', 'payment_code')}, ${sealedSecurityCodeSelect('t', 'tokenization_code')},
              EXISTS (SELECT 1 FROM vault.security_code_holds h WHERE h.token = c.token AND h.payment_id = a.payment_id) AS hold_recorded
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS a(token, merchant_id, payment_id, position)
       JOIN vault.cards c ON c.token = a.token AND c.merchant_id = a.merchant_id
       LEFT JOIN vault.held_security_codes p ON p.token = c.token AND p.payment_id = a.payment_id AND p.expires_at > now()
       LEFT JOIN vault.held_security_codes t ON t.token = c.token AND t.payment_id = '${codeGivenAtTokenization}' AND t.expires_at > now() AND c.cvc_supplied`,
      [requests.map((request) => request.token), requests.map((request) => request.merchantId), requests.map((request) => request.paymentId ?? null)],
    );
    const byPosition = new Map(rows.map(({ position, ...row }) => [Number(position), row]));
    return requests.map((_, index) => byPosition.get(index + 1));
  }

  /** Releases in one statement: each erases its token's codes (its payment's and the one given at tokenization), if the merchant owns the card. */
  private async writeReleases(releases: readonly Release[]): Promise<void[]> {
    await preparedQuery(
      this.dataSource,
      `WITH asked AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS r(token, merchant_id, payment_id)),
       erased AS (
         DELETE FROM vault.held_security_codes h USING asked a, vault.cards c
         WHERE h.token = a.token AND c.token = a.token AND c.merchant_id = a.merchant_id AND h.payment_id IN ('${codeGivenAtTokenization}', a.payment_id)
         RETURNING h.token)
       UPDATE vault.cards c SET cvc_supplied = false FROM asked a
       WHERE c.token = a.token AND c.merchant_id = a.merchant_id AND c.cvc_supplied AND c.token IN (SELECT token FROM erased)`,
      [releases.map((release) => release.token), releases.map((release) => release.merchantId), releases.map((release) => release.paymentId)],
    );
    return releases.map(() => undefined);
  }

  private async writeAuditRows(rows: readonly AuditRow[]): Promise<void[]> {
    await preparedQuery(
      this.dataSource,
      `INSERT INTO vault.detokenize_audit (caller, merchant_id, token, purpose, payment_id, outcome)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
      [
        rows.map((row) => row.caller),
        rows.map((row) => row.request.merchantId),
        rows.map((row) => row.request.token),
        rows.map((row) => row.request.purpose),
        rows.map((row) => row.request.paymentId ?? null),
        rows.map((row) => row.outcome),
      ],
    );
    return rows.map(() => undefined);
  }
}
