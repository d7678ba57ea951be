import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { validateCard } from '@dirigen/cards';
import type { Logger } from '@dirigen/observability';
import type { CardFacts } from '@dirigen/payments';
import { ApiError, DATA_SOURCE, LOGGER } from '@dirigen/service-kit';
import type { DataSource } from 'typeorm';
import type { CreateTokenDto } from './create-token.dto';
import { REQUEST_HASH_SECRET, VAULT_CLIENT } from './payment-intake';
import { idempotencyKeyHash, requestFingerprint, tokenizeRequestId } from './request-fingerprint';
import type { VaultClient } from '@dirigen/vault-client';

/**
 * How long a token's Idempotency-Key is remembered: 24 hours, as Stripe does. Long enough for any
 * client's retries (and a day's outage of the caller), short enough that the table stays the size
 * of one day of saved cards; after it the key is free again and a retry would save the card anew.
 */
export const tokenIdempotencyRetentionHours = 24;
/**
 * A claim whose request has not finished after this long was abandoned (its intake instance died
 * mid-call) and may be taken over by a retry. Well above the vault call's 5 s timeout, so a live
 * request is never overtaken.
 */
export const tokenClaimLeaseMs = 30_000;
/** Expired keys deleted after each new token: bounded work per request, and faster than keys are made. */
export const expiredKeysPurgeBatchMax = 100;

/** The `POST /v1/tokens` answer: the token and card facts, never the number or the security code. */
export interface PresentedToken {
  id: string;
  object: 'token';
  card: { brand: string; last4: string; exp_month: number; exp_year: number; fingerprint: string };
}

export interface SavedToken {
  token: PresentedToken;
  /** True when an earlier request with the same Idempotency-Key saved it. */
  replayed: boolean;
}

const keyInUse = () => new ApiError(409, 'idempotency_error', 'idempotency_key_in_use', 'A request with this Idempotency-Key is in progress; retry later.');

/**
 * Saves a card in the vault as a `tok_…`, honouring the Idempotency-Key the way payments do (and,
 * as they do, storing only its keyed hash):
 * the same key and body get the same token back, another body an `idempotency_error`, a
 * concurrent duplicate 409 `idempotency_key_in_use`. Keys are per merchant and apart from payment keys.
 *
 * The vault call cannot join a database transaction, so a request first claims its key (a row,
 * committed at once, whose primary key makes concurrent duplicates lose), then tokenizes, then
 * records the answer in the claim. A failed vault call releases the claim, so the client can retry
 * with the same key; a claim left by a dead instance is taken over after `tokenClaimLeaseMs`.
 */
@Injectable()
export class TokenIntake {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(VAULT_CLIENT) private readonly vault: VaultClient,
    @Inject(REQUEST_HASH_SECRET) private readonly requestHashSecret: Buffer,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(merchantId: string, dto: CreateTokenDto, idempotencyKey: string | undefined): Promise<SavedToken> {
    const card = { number: dto.card.number.replace(/[\s-]/g, ''), expMonth: dto.card.exp_month, expYear: dto.card.exp_year, cvc: dto.card.cvc };
    const validation = validateCard(card, new Date());
    if (!validation.ok) throw new ApiError(402, 'card_error', validation.failure.code, validation.failure.message, `card.${validation.failure.field}`);
    if (idempotencyKey === undefined) return { token: presentToken(await this.vault.tokenize(merchantId, card, 'saved')), replayed: false };

    // Keyed, so the low-entropy card data in the body cannot be recovered from the stored digest.
    const requestHash = requestFingerprint(this.requestHashSecret, dto);
    const keyHash = idempotencyKeyHash(this.requestHashSecret, idempotencyKey);
    const claimId = await this.claim(merchantId, keyHash, requestHash);
    if (claimId === undefined) return { token: await this.remembered(merchantId, keyHash, requestHash), replayed: true };
    let token: PresentedToken;
    try {
      token = presentToken(await this.vault.tokenize(merchantId, card, 'saved', tokenizeRequestId(this.requestHashSecret, 'saved', merchantId, idempotencyKey)));
    } catch (error) {
      await this.release(merchantId, keyHash, claimId);
      throw error;
    }
    await this.remember(merchantId, keyHash, claimId, token);
    await this.purgeExpired();
    return { token, replayed: false };
  }

  /** The claim's id when this request may tokenize: the key is new, expired, or abandoned by a dead request. */
  private async claim(merchantId: string, keyHash: Buffer, requestHash: Buffer): Promise<string | undefined> {
    const claimId = randomUUID();
    // A concurrent insert of the same key waits for the first to commit, then finds it live and returns nothing.
    const rows: { claim_id: string }[] = await this.dataSource.query(
      `INSERT INTO intake.token_idempotency_keys AS remembered (merchant_id, idempotency_key_hash, request_hash, claim_id)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (merchant_id, idempotency_key_hash) DO UPDATE
         SET request_hash = excluded.request_hash, claim_id = excluded.claim_id, token = NULL, card = NULL, created_at = now()
         WHERE remembered.created_at < now() - make_interval(hours => $5)
            OR (remembered.token IS NULL AND remembered.created_at < now() - $6 * interval '1 millisecond')
       RETURNING claim_id`,
      [merchantId, keyHash, requestHash, claimId, tokenIdempotencyRetentionHours, tokenClaimLeaseMs],
    );
    return rows.length === 1 ? claimId : undefined;
  }

  /** The answer an earlier request with this key gave, when its body was the same. */
  private async remembered(merchantId: string, keyHash: Buffer, requestHash: Buffer): Promise<PresentedToken> {
    const [row]: { request_hash: Buffer; token: string | null; card: PresentedToken['card'] | null }[] = await this.dataSource.query(
      'SELECT request_hash, token, card FROM intake.token_idempotency_keys WHERE merchant_id = $1 AND idempotency_key_hash = $2',
      [merchantId, keyHash],
    );
    // Gone between the claim and this read: the other request failed and released it. A retry will claim it.
    if (!row) throw keyInUse();
    if (!row.request_hash.equals(requestHash)) {
      throw new ApiError(400, 'idempotency_error', 'idempotency_key_reused', 'This Idempotency-Key was used with a different request body.', 'Idempotency-Key');
    }
    if (row.token === null || row.card === null) throw keyInUse();
    return { id: row.token, object: 'token', card: row.card };
  }

  private async remember(merchantId: string, keyHash: Buffer, claimId: string, token: PresentedToken): Promise<void> {
    const updated: [unknown[], number] = await this.dataSource.query(
      'UPDATE intake.token_idempotency_keys SET token = $4, card = $5 WHERE merchant_id = $1 AND idempotency_key_hash = $2 AND claim_id = $3',
      [merchantId, keyHash, claimId, token.id, JSON.stringify(token.card)],
    );
    // Only when this request outlived its lease and a retry took the key over: both got a token.
    if (updated[1] !== 1) this.logger.warn({ merchantId, token: token.id }, 'token idempotency claim was taken over before the token was saved');
  }

  /** Lets a retry with the same key try again after a failed vault call (a failure is not remembered). */
  private async release(merchantId: string, keyHash: Buffer, claimId: string): Promise<void> {
    await this.dataSource
      .query('DELETE FROM intake.token_idempotency_keys WHERE merchant_id = $1 AND idempotency_key_hash = $2 AND claim_id = $3 AND token IS NULL', [merchantId, keyHash, claimId])
      // The lease frees the key anyway; the vault's error is the one to answer with.
      .catch((error: unknown) => this.logger.warn({ err: error, merchantId }, 'could not release a token idempotency claim'));
  }

  private async purgeExpired(): Promise<void> {
    try {
      await this.dataSource.query(
        `DELETE FROM intake.token_idempotency_keys
         WHERE (merchant_id, idempotency_key_hash) IN (
           SELECT merchant_id, idempotency_key_hash FROM intake.token_idempotency_keys
           WHERE created_at < now() - make_interval(hours => $1) ORDER BY created_at LIMIT $2)
         AND created_at < now() - make_interval(hours => $1)`,
        [tokenIdempotencyRetentionHours, expiredKeysPurgeBatchMax],
      );
    } catch (error) {
      // Housekeeping: the token is saved and remembered; the next request purges.
      this.logger.warn({ err: error }, 'could not purge expired token idempotency keys');
    }
  }
}

function presentToken(facts: CardFacts): PresentedToken {
  return { id: facts.token, object: 'token', card: { brand: facts.brand, last4: facts.last4, exp_month: facts.expMonth, exp_year: facts.expYear, fingerprint: facts.fingerprint } };
}
