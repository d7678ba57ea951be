import { randomBytes } from 'node:crypto';
import { normalizeCardNumber, validateCard, validateSecurityCode } from '@dirigen/cards';
import type { Logger } from '@dirigen/observability';
import type { DataSource } from 'typeorm';
import type { CallerAuthenticator, CallerCredential, VaultPermission } from './caller-auth';
import type { CallerRateLimiter } from './caller-rate-limiter';
import { codeGivenAtTokenization, heldSecurityCodeColumns, sealedSecurityCodeOf } from './held-security-codes';
import { type VaultCrypto, VaultCryptoError } from './vault-crypto';
import { VaultError } from './vault-error';
import { type CardRow, VaultRecords } from './vault-records';
import type { CardFacts } from '@dirigen/payments';

export type { CallerCredential } from './caller-auth';

export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** The facts of a saved card that may leave the vault (the payment's `CardFacts`), and when it was saved. */
export type CardFactsOfToken = CardFacts & { createdAt?: Date };

/** What a card is stored for: one payment (destroyed after retention) or saved by the merchant (kept until deleted). */
export type CardUse = 'payment' | 'saved';

export interface DetokenizeRequest {
  merchantId: string;
  token: string;
  purpose: string;
  paymentId?: string;
}

export interface DetokenizedCard {
  number: string;
  expMonth: number;
  expYear: number;
  cvc?: string;
}

export interface AuditEntry {
  caller: string;
  merchantId: string;
  token: string;
  purpose: string;
  paymentId: string | null;
  outcome: string;
  at: Date;
}

export interface SecurityCodeHold {
  merchantId: string;
  token: string;
  paymentId: string;
  cvc: string;
}

export const auditPageSizeMax = 100;

/** A security code was given for the card but is no longer held: the customer must enter it again. */
const securityCodeLost = Symbol('securityCodeLost');

export interface CardVaultOptions {
  /** How long a held security code may wait for its authorization before the sweeper erases it (PCI DSS 3.3.1/3.3.2). */
  securityCodeTtlMs: number;
}

/**
 * The vault's operations, whatever the transport: the only place card numbers are encrypted,
 * stored and decrypted. Every call names its caller; every detokenize is audited.
 *
 * Any number of vault replicas serve the same database: nothing a call needs lives in one
 * process's memory. A card security code (sensitive authentication data) lives like this:
 *  1. Tokenize (a new card) or HoldSecurityCode (a saved card, for one payment) seals it with
 *     AES-256-GCM under the merchant's card data key (wrapped by the KEK), merchant, token and
 *     payment bound in as associated data, and stores the ciphertext in the UNLOGGED table
 *     vault.held_security_codes, with `expires_at` = now + `securityCodeTtlMs` (10 minutes):
 *     PCI DSS v4.0 3.3.2, stored before authorization, encrypted with strong cryptography.
 *  2. Detokenize for the payment's authorization opens it on whichever replica serves the call,
 *     and only there, in memory, for the answer; it is never logged or written anywhere else.
 *  3. ReleaseSecurityCode, sent by the gateway once the attempt's outcome is recorded, DELETEs it
 *     (PCI DSS 3.3.1: not retained after authorization). A code nobody released is past its
 *     expiry unusable at once, and deleted by the retention sweeper within its interval (1 minute);
 *     destroying the card deletes it too (foreign key cascade).
 */
export class CardVault {
  /** Where card records, audit rows and releases are read and written, batched when calls overlap. */
  private readonly records: VaultRecords;

  constructor(
    private readonly dataSource: DataSource,
    private readonly crypto: VaultCrypto,
    private readonly callers: CallerAuthenticator,
    private readonly detokenizeLimiter: CallerRateLimiter,
    private readonly logger: Logger,
    private readonly options: CardVaultOptions,
  ) {
    if (!(options.securityCodeTtlMs > 0)) throw new Error('invariant: securityCodeTtlMs is positive');
    this.records = new VaultRecords(dataSource, this.ttlSeconds);
  }

  /**
   * Stores a card. `use` decides retention: a payment's card is destroyed after the retention sweep's
   * window, a saved one when deleted. With a `requestId` the merchant's card is stored once for it:
   * a retry gets the first token (and its security code held again), never a second, orphaned record.
   */
  async tokenize(caller: CallerCredential, merchantId: string, card: CardInput, use: CardUse, requestId?: string): Promise<CardFactsOfToken> {
    this.authorize(caller, 'tokenize');
    const number = normalizeCardNumber(card.number);
    const validation = validateCard({ number, expMonth: card.expMonth, expYear: card.expYear, cvc: card.cvc }, new Date());
    if (!validation.ok) {
      const { code, field, message } = validation.failure;
      throw new VaultError('invalid_card', message, field, code);
    }
    const facts = validation.facts;
    const token = `tok_${randomBytes(16).toString('base64url')}`;
    const [sealed, fingerprint, code] = await Promise.all([
      this.crypto.seal(merchantId, token, { number, expMonth: facts.expMonth, expYear: facts.expYear }),
      this.crypto.fingerprint(merchantId, number),
      this.crypto.sealSecurityCode(merchantId, token, codeGivenAtTokenization, card.cvc),
    ]);
    const stored = { token, brand: facts.brand, last4: facts.last4, bin: facts.bin, expMonth: facts.expMonth, expYear: facts.expYear, fingerprint };
    const inserted = await this.records.storeNewCard({ token, merchantId, sealed, facts, fingerprint, use, requestId: requestId ?? null, code });
    if (inserted) return stored;
    // An earlier (or concurrent) request with the same id stored the card first: answer its token.
    const winner = await this.tokenizedFor(merchantId, requestId!);
    if (!winner) throw new Error('invariant: a conflicting tokenize request id names a stored card');
    return this.retried(merchantId, winner, stored, use, card.cvc);
  }

  private async tokenizedFor(merchantId: string, requestId: string): Promise<(CardFactsOfToken & { kind: CardUse; cvcSupplied: boolean }) | undefined> {
    const [row]: { token: string; brand: string; last4: string; bin: string; exp_month: number; exp_year: number; fingerprint: string; kind: CardUse; cvc_supplied: boolean }[] =
      await this.dataSource.query(
        'SELECT token, brand, last4, bin, exp_month, exp_year, fingerprint, kind, cvc_supplied FROM vault.cards WHERE merchant_id = $1 AND request_id = $2',
        [merchantId, requestId],
      );
    return row && { token: row.token, brand: row.brand, last4: row.last4, bin: row.bin, expMonth: row.exp_month, expYear: row.exp_year, fingerprint: row.fingerprint, kind: row.kind, cvcSupplied: row.cvc_supplied };
  }

  /** The answer to a retried tokenize: the first token, if the retry carries the same card; its security code held again if still wanted and no longer held. */
  private async retried(merchantId: string, earlier: CardFactsOfToken & { kind: CardUse; cvcSupplied: boolean }, retry: CardFactsOfToken, use: CardUse, cvc: string): Promise<CardFactsOfToken> {
    const sameCard = earlier.fingerprint === retry.fingerprint && earlier.expMonth === retry.expMonth && earlier.expYear === retry.expYear && earlier.kind === use;
    if (!sameCard) throw new VaultError('invalid_request', 'This request id already stored another card.', 'request_id');
    if (earlier.cvcSupplied) {
      const code = await this.crypto.sealSecurityCode(merchantId, earlier.token, codeGivenAtTokenization, cvc);
      await this.dataSource.query(
        `INSERT INTO vault.held_security_codes (${heldSecurityCodeColumns}) VALUES ($1, '${codeGivenAtTokenization}', $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT (token, payment_id) DO UPDATE SET data_key_version = EXCLUDED.data_key_version, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext,
           auth_tag = EXCLUDED.auth_tag, expires_at = EXCLUDED.expires_at
         WHERE vault.held_security_codes.expires_at <= now()`,
        [earlier.token, merchantId, code.keyVersion, code.nonce, code.ciphertext, code.authTag, this.ttlSeconds],
      );
    }
    const { kind: _kind, cvcSupplied: _cvcSupplied, ...facts } = earlier;
    return facts;
  }

  async detokenize(caller: CallerCredential, request: DetokenizeRequest): Promise<DetokenizedCard> {
    const callerName = caller.name ?? '(none)';
    try {
      this.authorize(caller, 'detokenize');
    } catch (error) {
      // An impersonation attempt (a certificate of one service, the name of another) is told apart in the trail.
      const impersonation = error instanceof VaultError && error.detail === 'certificate_mismatch';
      await this.audit(callerName, request, impersonation ? 'refused_certificate_mismatch' : 'refused_unauthorized');
      throw error;
    }
    if (!this.detokenizeLimiter.tryTake(callerName)) {
      await this.audit(callerName, request, 'refused_rate_limited');
      throw new VaultError('rate_limited', 'Too many detokenize calls from this caller; retry shortly.');
    }
    // A token of another merchant is indistinguishable from a missing one. An expired code is as good as erased.
    const row = await this.records.readCard(request);
    if (!row) {
      await this.audit(callerName, request, 'not_found');
      throw new VaultError('token_not_found', 'The card token does not exist for this merchant.', 'token');
    }
    let card;
    let cvc;
    try {
      card = await this.crypto.open(request.merchantId, request.token, { keyVersion: row.data_key_version, nonce: row.nonce, ciphertext: row.ciphertext, authTag: row.auth_tag });
      cvc = await this.securityCodeFor(row, request);
    } catch (error) {
      if (!(error instanceof VaultCryptoError)) throw error;
      const unavailable = error.reason === 'key_unavailable';
      await this.audit(callerName, request, unavailable ? 'key_unavailable' : 'integrity_failure');
      this.logger.error({ token: request.token, reason: error.message }, 'card record or its held security code failed to open');
      throw unavailable
        ? new VaultError('key_unavailable', 'The card record is sealed under a key version this vault no longer holds.')
        : new VaultError('integrity_failure', 'The card record could not be opened.');
    }
    if (cvc === securityCodeLost) {
      await this.audit(callerName, request, 'cvc_expired');
      throw new VaultError('cvc_expired', 'The card security code is no longer held; ask the customer to enter it again.', 'token');
    }
    await this.audit(callerName, request, 'released');
    return { number: card.number, expMonth: card.expMonth, expYear: card.expYear, ...(cvc !== undefined ? { cvc } : {}) };
  }

  /** The card facts of a merchant's saved card; another merchant's token, or one payment's card, is not found. */
  async lookup(caller: CallerCredential, merchantId: string, token: string): Promise<CardFactsOfToken> {
    this.authorize(caller, 'tokenize');
    const [row]: { brand: string; last4: string; bin: string; exp_month: number; exp_year: number; fingerprint: string; created_at: Date }[] = await this.dataSource.query(
      "SELECT brand, last4, bin, exp_month, exp_year, fingerprint, created_at FROM vault.cards WHERE token = $1 AND merchant_id = $2 AND kind = 'saved'",
      [token, merchantId],
    );
    if (!row) throw new VaultError('token_not_found', 'The card token does not exist for this merchant.', 'token');
    return { token, brand: row.brand, last4: row.last4, bin: row.bin, expMonth: row.exp_month, expYear: row.exp_year, fingerprint: row.fingerprint, createdAt: row.created_at };
  }

  /** Destroys a merchant's token: the ciphertext row and any security code held for it. */
  async deleteToken(caller: CallerCredential, merchantId: string, token: string): Promise<void> {
    this.authorize(caller, 'tokenize');
    const [, deleted]: [unknown[], number] = await this.dataSource.query("DELETE FROM vault.cards WHERE token = $1 AND merchant_id = $2 AND kind = 'saved'", [token, merchantId]);
    if (deleted === 0) throw new VaultError('token_not_found', 'The card token does not exist for this merchant.', 'token');
    // Its held codes went with the card (ON DELETE CASCADE); the records that codes were held go too.
    await this.dataSource.query('DELETE FROM vault.security_code_holds WHERE token = $1', [token]);
  }

  /**
   * Holds a security code given with a payment by saved card, sealed (see the class comment), for
   * that payment's authorization. The record that it was held outlives the code (hold retention),
   * so a code lost before the authorization (expired, or a PostgreSQL crash emptied the unlogged
   * table) fails it with `cvc_expired` instead of sending the card without its code. Keyed by
   * payment: a retry seals the code again and refreshes its expiry.
   */
  async holdSecurityCode(caller: CallerCredential, hold: SecurityCodeHold): Promise<void> {
    this.authorize(caller, 'tokenize');
    const [card]: { brand: string }[] = await this.dataSource.query("SELECT brand FROM vault.cards WHERE token = $1 AND merchant_id = $2 AND kind = 'saved'", [hold.token, hold.merchantId]);
    if (!card) throw new VaultError('token_not_found', 'The card token does not exist for this merchant.', 'token');
    const check = validateSecurityCode(card.brand, hold.cvc);
    if (!check.ok) throw new VaultError('invalid_card', check.failure.message, check.failure.field, check.failure.code);
    const code = await this.crypto.sealSecurityCode(hold.merchantId, hold.token, hold.paymentId, hold.cvc);
    await this.dataSource.query(
      `WITH recorded AS (INSERT INTO vault.security_code_holds (token, payment_id) VALUES ($1, $2) ON CONFLICT DO NOTHING)
       INSERT INTO vault.held_security_codes (${heldSecurityCodeColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
       ON CONFLICT (token, payment_id) DO UPDATE SET data_key_version = EXCLUDED.data_key_version, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext,
         auth_tag = EXCLUDED.auth_tag, expires_at = EXCLUDED.expires_at`,
      [hold.token, hold.paymentId, hold.merchantId, code.keyVersion, code.nonce, code.ciphertext, code.authTag, this.ttlSeconds],
    );
  }

  /**
   * The authorization that needed the security code is recorded: erase it (PCI DSS 3.3.1), the one
   * held for this payment and the one given at tokenization, in one statement. Only a code that was
   * still held puts a saved card on file; when it had expired, the next payment with the token fails
   * `cvc_expired` too, until the customer gives the code again. The record that a code was held for
   * the payment stays (hold retention): a late duplicate of the same authorization (a gateway replica
   * that took the event over while another finished it) then gets `cvc_expired`, never the card
   * without its code — which would send the PSP the same attempt id with another body. Idempotent.
   */
  async releaseCvc(caller: CallerCredential, merchantId: string, token: string, paymentId?: string): Promise<void> {
    this.authorize(caller, 'detokenize');
    await this.records.release({ merchantId, token, paymentId: paymentId ?? null });
  }

  /** The audit trail, newest first, by token or payment: for the `auditor` caller only. */
  async queryAudit(caller: CallerCredential, query: { token?: string; paymentId?: string; limit?: number }): Promise<AuditEntry[]> {
    this.authorize(caller, 'audit');
    if (!query.token && !query.paymentId) throw new VaultError('invalid_request', 'Give token or payment_id.', 'token');
    const rows: { caller: string; merchant_id: string; token: string; purpose: string; payment_id: string | null; outcome: string; at: Date }[] = await this.dataSource.query(
      `SELECT caller, merchant_id, token, purpose, payment_id, outcome, at FROM vault.detokenize_audit
       WHERE ($1::text IS NULL OR token = $1) AND ($2::text IS NULL OR payment_id = $2) ORDER BY id DESC LIMIT $3`,
      [query.token ?? null, query.paymentId ?? null, Math.min(query.limit ?? auditPageSizeMax, auditPageSizeMax)],
    );
    return rows.map((row) => ({ caller: row.caller, merchantId: row.merchant_id, token: row.token, purpose: row.purpose, paymentId: row.payment_id, outcome: row.outcome, at: row.at }));
  }

  /**
   * The security code a detokenize returns: the one held for this payment, else the one given when
   * the card was tokenized (its first use); `securityCodeLost` when one was given but is no longer
   * held (expired, released after the attempt was recorded, or lost to a PostgreSQL crash); undefined
   * for a saved card on file. A payment's card is never on file: without its code it is lost.
   */
  private async securityCodeFor(row: CardRow, request: DetokenizeRequest): Promise<string | undefined | typeof securityCodeLost> {
    const forPayment = sealedSecurityCodeOf(row, 'payment_code');
    if (forPayment && request.paymentId) return this.crypto.openSecurityCode(request.merchantId, request.token, request.paymentId, forPayment);
    if (row.cvc_supplied) {
      const fromTokenization = sealedSecurityCodeOf(row, 'tokenization_code');
      return fromTokenization ? this.crypto.openSecurityCode(request.merchantId, request.token, codeGivenAtTokenization, fromTokenization) : securityCodeLost;
    }
    return row.hold_recorded || row.kind === 'payment' ? securityCodeLost : undefined;
  }

  private get ttlSeconds(): number {
    return this.options.securityCodeTtlMs / 1000;
  }

  private authorize(caller: CallerCredential, permission: VaultPermission): void {
    const verdict = this.callers.authenticate(caller, permission);
    switch (verdict) {
      case 'ok':
        return;
      case 'unauthenticated':
        throw new VaultError('caller_unauthenticated', 'The internal caller credential is missing or wrong.');
      case 'certificate_mismatch':
        // Who held which certificate is for the investigation (the audit row keeps the claimed name only); names are no secrets.
        this.logger.warn({ caller: caller.name, certificateName: caller.certificateName ?? null, permission }, 'vault call refused: the client certificate names another caller');
        throw new VaultError('caller_unauthenticated', 'The caller name does not match the client certificate.', undefined, 'certificate_mismatch');
      case 'forbidden':
        throw new VaultError('caller_forbidden', `This caller may not ${permission}.`);
      default:
        verdict satisfies never;
        throw new Error(`invariant: unknown caller verdict ${String(verdict)}`);
    }
  }

  private audit(caller: string, request: DetokenizeRequest, outcome: string): Promise<void> {
    return this.records.audit({ caller: caller.slice(0, 64), request, outcome });
  }

}
