import { randomBytes } from 'node:crypto';
import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { normalizeCardNumber, validateCard } from '@dirigen/cards';
import { ApiError, DATA_SOURCE, LOGGER } from '@dirigen/service-kit';
import type { Logger } from '@dirigen/observability';
import { Type } from 'class-transformer';
import { IsDefined, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import type { DataSource } from 'typeorm';
import { CallerAuthenticator, type VaultPermission } from './caller-auth';
import type { CallerRateLimiter } from './caller-rate-limiter';
import { CvcStore } from './cvc-store';
import { VaultCrypto, VaultCryptoError } from './vault-crypto';

export const VAULT_CRYPTO = Symbol('VAULT_CRYPTO');
export const CALLER_AUTHENTICATOR = Symbol('CALLER_AUTHENTICATOR');
export const CVC_STORE = Symbol('CVC_STORE');
export const DETOKENIZE_LIMITER = Symbol('DETOKENIZE_LIMITER');

class CardBody {
  @IsString() @Length(12, 23) number!: string;
  @IsInt() @Min(1) @Max(12) exp_month!: number;
  @IsInt() @Min(2000) @Max(2100) exp_year!: number;
  @IsString() @Matches(/^\d{3,4}$/) cvc!: string;
}

class TokenizeBody {
  @IsString() @Length(1, 64) merchant_id!: string;
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CardBody) card!: CardBody;
}

class DetokenizeBody {
  @IsString() @Length(1, 64) merchant_id!: string;
  @IsString() @Length(1, 64) token!: string;
  @IsString() @Length(1, 64) purpose!: string;
  @IsOptional() @IsString() @Length(1, 64) payment_id?: string;
}

const auditPageSizeMax = 100;

class TokenRefBody {
  @IsString() @Length(1, 64) merchant_id!: string;
  @IsString() @Length(1, 64) token!: string;
}

class AuditQueryBody {
  @IsOptional() @IsString() @Length(1, 64) token?: string;
  @IsOptional() @IsString() @Length(1, 64) payment_id?: string;
  @IsOptional() @IsInt() @Min(1) @Max(auditPageSizeMax) limit?: number;
}

class ReleaseCvcBody {
  @IsString() @Length(1, 64) merchant_id!: string;
  @IsString() @Length(1, 64) token!: string;
}

interface CardRow {
  key_version: number;
  nonce: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
  cvc_supplied: boolean;
}

/** The vault's internal API: the only place card numbers are encrypted, stored and decrypted. */
@Controller('internal/v1')
export class VaultController {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(VAULT_CRYPTO) private readonly crypto: VaultCrypto,
    @Inject(CALLER_AUTHENTICATOR) private readonly callers: CallerAuthenticator,
    @Inject(CVC_STORE) private readonly cvcs: CvcStore,
    @Inject(DETOKENIZE_LIMITER) private readonly detokenizeLimiter: CallerRateLimiter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Post('tokens')
  @HttpCode(201)
  async tokenize(@Body() body: TokenizeBody, @Headers('x-dirigen-caller') caller?: string, @Headers('authorization') authorization?: string) {
    this.authorize(caller, authorization, 'tokenize');
    const number = normalizeCardNumber(body.card.number);
    const validation = validateCard({ number, expMonth: body.card.exp_month, expYear: body.card.exp_year, cvc: body.card.cvc }, new Date());
    if (!validation.ok) {
      const { code, field, message } = validation.failure;
      throw new ApiError(402, 'card_error', code, message, `card.${field}`);
    }
    const facts = validation.facts;
    const token = `tok_${randomBytes(16).toString('base64url')}`;
    const sealed = this.crypto.seal(body.merchant_id, token, { number, expMonth: facts.expMonth, expYear: facts.expYear });
    const fingerprint = this.crypto.fingerprint(body.merchant_id, number);
    if (!this.cvcs.put(token, body.card.cvc)) {
      throw new ApiError(503, 'api_error', 'vault_busy', 'The vault cannot hold more card security codes right now; retry shortly.');
    }
    await this.dataSource.query(
      `INSERT INTO vault.cards (token, merchant_id, key_version, nonce, ciphertext, auth_tag, brand, last4, bin, exp_month, exp_year, fingerprint, cvc_supplied)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [token, body.merchant_id, sealed.keyVersion, sealed.nonce, sealed.ciphertext, sealed.authTag, facts.brand, facts.last4, facts.bin, facts.expMonth, facts.expYear, fingerprint, true],
    );
    return { token, brand: facts.brand, last4: facts.last4, bin: facts.bin, exp_month: facts.expMonth, exp_year: facts.expYear, fingerprint };
  }

  @Post('detokenize')
  @HttpCode(200)
  async detokenize(@Body() body: DetokenizeBody, @Headers('x-dirigen-caller') caller?: string, @Headers('authorization') authorization?: string) {
    try {
      this.authorize(caller, authorization, 'detokenize');
    } catch (error) {
      await this.audit(caller ?? '(none)', body, 'refused_unauthorized');
      throw error;
    }
    if (!this.detokenizeLimiter.tryTake(caller!)) {
      await this.audit(caller!, body, 'refused_rate_limited');
      throw new ApiError(429, 'rate_limit_error', 'detokenize_rate_limited', 'Too many detokenize calls from this caller; retry shortly.');
    }
    // A token of another merchant is indistinguishable from a missing one.
    const [row]: CardRow[] = await this.dataSource.query(
      'SELECT key_version, nonce, ciphertext, auth_tag, cvc_supplied FROM vault.cards WHERE token = $1 AND merchant_id = $2',
      [body.token, body.merchant_id],
    );
    if (!row) {
      await this.audit(caller!, body, 'not_found');
      throw ApiError.notFound('token', body.token, 'token');
    }
    let card;
    try {
      card = this.crypto.open(body.merchant_id, body.token, { keyVersion: row.key_version, nonce: row.nonce, ciphertext: row.ciphertext, authTag: row.auth_tag });
    } catch (error) {
      await this.audit(caller!, body, 'integrity_failure');
      if (error instanceof VaultCryptoError) this.logger.error({ token: body.token, reason: error.message }, 'card record failed to open');
      throw new ApiError(500, 'api_error', 'vault_integrity_failure', 'The card record could not be opened.');
    }
    const cvc = row.cvc_supplied ? this.cvcs.peek(body.token) : undefined;
    if (row.cvc_supplied && cvc === undefined) {
      await this.audit(caller!, body, 'cvc_expired');
      throw new ApiError(410, 'card_error', 'cvc_expired', 'The card security code is no longer held; ask the customer to enter it again.', 'token');
    }
    await this.audit(caller!, body, 'released');
    return { number: card.number, exp_month: card.expMonth, exp_year: card.expYear, ...(cvc !== undefined ? { cvc } : {}) };
  }

  /** The card facts of a merchant's token (for a payment with a saved card); another merchant's token is not found. */
  @Post('token-lookups')
  @HttpCode(200)
  async lookup(@Body() body: TokenRefBody, @Headers('x-dirigen-caller') caller?: string, @Headers('authorization') authorization?: string) {
    this.authorize(caller, authorization, 'tokenize');
    const [row]: { brand: string; last4: string; bin: string; exp_month: number; exp_year: number; fingerprint: string; created_at: Date }[] = await this.dataSource.query(
      'SELECT brand, last4, bin, exp_month, exp_year, fingerprint, created_at FROM vault.cards WHERE token = $1 AND merchant_id = $2',
      [body.token, body.merchant_id],
    );
    if (!row) throw ApiError.notFound('token', body.token, 'token');
    return { token: body.token, brand: row.brand, last4: row.last4, bin: row.bin, exp_month: row.exp_month, exp_year: row.exp_year, fingerprint: row.fingerprint, created_at: row.created_at.toISOString() };
  }

  /** Destroys a merchant's token: the ciphertext row and any security code held for it. */
  @Post('token-deletions')
  @HttpCode(204)
  async delete(@Body() body: TokenRefBody, @Headers('x-dirigen-caller') caller?: string, @Headers('authorization') authorization?: string): Promise<void> {
    this.authorize(caller, authorization, 'tokenize');
    const [, deleted]: [unknown[], number] = await this.dataSource.query('DELETE FROM vault.cards WHERE token = $1 AND merchant_id = $2', [body.token, body.merchant_id]);
    if (deleted === 0) throw ApiError.notFound('token', body.token, 'token');
    this.cvcs.erase(body.token);
  }

  /** The audit trail, newest first, by token or payment: for the `auditor` caller only. */
  @Post('audit-queries')
  @HttpCode(200)
  async queryAudit(@Body() query: AuditQueryBody, @Headers('x-dirigen-caller') caller?: string, @Headers('authorization') authorization?: string) {
    this.authorize(caller, authorization, 'audit');
    if (!query.token && !query.payment_id) throw ApiError.invalidRequest('parameter_missing', 'Give token or payment_id.', 'token');
    const rows: { caller: string; merchant_id: string; token: string; purpose: string; payment_id: string | null; outcome: string; at: Date }[] = await this.dataSource.query(
      `SELECT caller, merchant_id, token, purpose, payment_id, outcome, at FROM vault.detokenize_audit
       WHERE ($1::text IS NULL OR token = $1) AND ($2::text IS NULL OR payment_id = $2) ORDER BY id DESC LIMIT $3`,
      [query.token ?? null, query.payment_id ?? null, query.limit ?? auditPageSizeMax],
    );
    return { data: rows.map((row) => ({ ...row, at: row.at.toISOString() })) };
  }

  /** The authorization that needed the security code is recorded: erase it (PCI DSS 3.3.1). */
  @Post('cvc-releases')
  @HttpCode(204)
  async releaseCvc(@Body() body: ReleaseCvcBody, @Headers('x-dirigen-caller') caller?: string, @Headers('authorization') authorization?: string): Promise<void> {
    this.authorize(caller, authorization, 'detokenize');
    // From now on the card is on file: later payments with the token go without a security code.
    const [, updated]: [unknown[], number] = await this.dataSource.query('UPDATE vault.cards SET cvc_supplied = false WHERE token = $1 AND merchant_id = $2', [body.token, body.merchant_id]);
    if (updated > 0) this.cvcs.erase(body.token);
  }

  private authorize(caller: string | undefined, authorization: string | undefined, permission: VaultPermission): void {
    const verdict = this.callers.authenticate(caller, authorization, permission);
    if (verdict === 'unauthenticated') throw new ApiError(401, 'authentication_error', 'caller_unauthenticated', 'The internal caller credential is missing or wrong.');
    if (verdict === 'forbidden') throw new ApiError(403, 'authentication_error', 'caller_forbidden', `This caller may not ${permission}.`);
  }

  private async audit(caller: string, body: DetokenizeBody, outcome: string): Promise<void> {
    await this.dataSource.query(
      'INSERT INTO vault.detokenize_audit (caller, merchant_id, token, purpose, payment_id, outcome) VALUES ($1, $2, $3, $4, $5, $6)',
      [caller.slice(0, 64), body.merchant_id, body.token, body.purpose, body.payment_id ?? null, outcome],
    );
  }
}
