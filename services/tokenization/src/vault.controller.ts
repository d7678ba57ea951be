import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiError } from '@dirigen/service-kit';
import { Type } from 'class-transformer';
import { IsDefined, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { auditPageSizeMax, type CallerCredential, CardVault, type CardFactsOfToken } from './card-vault';
import { VaultError, type VaultErrorCode } from './vault-error';

export const CARD_VAULT = Symbol('CARD_VAULT');

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

class TokenRefBody {
  @IsString() @Length(1, 64) merchant_id!: string;
  @IsString() @Length(1, 64) token!: string;
}

class AuditQueryBody {
  @IsOptional() @IsString() @Length(1, 64) token?: string;
  @IsOptional() @IsString() @Length(1, 64) payment_id?: string;
  @IsOptional() @IsInt() @Min(1) @Max(auditPageSizeMax) limit?: number;
}

const httpStatusByCode: Record<VaultErrorCode, { status: number; type: ApiError['type'] }> = {
  invalid_card: { status: 402, type: 'card_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  caller_unauthenticated: { status: 401, type: 'authentication_error' },
  caller_forbidden: { status: 403, type: 'authentication_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  token_not_found: { status: 404, type: 'invalid_request_error' },
  cvc_expired: { status: 410, type: 'card_error' },
  vault_busy: { status: 503, type: 'api_error' },
  key_unavailable: { status: 500, type: 'api_error' },
  integrity_failure: { status: 500, type: 'api_error' },
};

const httpCodeByCode: Partial<Record<VaultErrorCode, string>> = {
  token_not_found: 'resource_missing',
  rate_limited: 'detokenize_rate_limited',
  integrity_failure: 'vault_integrity_failure',
};

/** The vault's internal HTTP API: parses, names the caller, and maps vault errors to statuses. */
@Controller('internal/v1')
export class VaultController {
  constructor(@Inject(CARD_VAULT) private readonly vault: CardVault) {}

  @Post('tokens')
  @HttpCode(201)
  async tokenize(@Body() body: TokenizeBody, @Headers('x-dirigen-caller') name?: string, @Headers('authorization') authorization?: string) {
    const card = { number: body.card.number, expMonth: body.card.exp_month, expYear: body.card.exp_year, cvc: body.card.cvc };
    return factsBody(await mapped(this.vault.tokenize(credential(name, authorization), body.merchant_id, card)));
  }

  @Post('detokenize')
  @HttpCode(200)
  async detokenize(@Body() body: DetokenizeBody, @Headers('x-dirigen-caller') name?: string, @Headers('authorization') authorization?: string) {
    const request = { merchantId: body.merchant_id, token: body.token, purpose: body.purpose, ...(body.payment_id ? { paymentId: body.payment_id } : {}) };
    const card = await mapped(this.vault.detokenize(credential(name, authorization), request));
    return { number: card.number, exp_month: card.expMonth, exp_year: card.expYear, ...(card.cvc !== undefined ? { cvc: card.cvc } : {}) };
  }

  @Post('token-lookups')
  @HttpCode(200)
  async lookup(@Body() body: TokenRefBody, @Headers('x-dirigen-caller') name?: string, @Headers('authorization') authorization?: string) {
    return factsBody(await mapped(this.vault.lookup(credential(name, authorization), body.merchant_id, body.token)));
  }

  @Post('token-deletions')
  @HttpCode(204)
  async delete(@Body() body: TokenRefBody, @Headers('x-dirigen-caller') name?: string, @Headers('authorization') authorization?: string): Promise<void> {
    await mapped(this.vault.deleteToken(credential(name, authorization), body.merchant_id, body.token));
  }

  @Post('audit-queries')
  @HttpCode(200)
  async queryAudit(@Body() query: AuditQueryBody, @Headers('x-dirigen-caller') name?: string, @Headers('authorization') authorization?: string) {
    const entries = await mapped(this.vault.queryAudit(credential(name, authorization), { token: query.token, paymentId: query.payment_id, limit: query.limit }));
    return {
      data: entries.map((entry) => ({
        caller: entry.caller, merchant_id: entry.merchantId, token: entry.token, purpose: entry.purpose, payment_id: entry.paymentId, outcome: entry.outcome, at: entry.at.toISOString(),
      })),
    };
  }

  @Post('cvc-releases')
  @HttpCode(204)
  async releaseCvc(@Body() body: TokenRefBody, @Headers('x-dirigen-caller') name?: string, @Headers('authorization') authorization?: string): Promise<void> {
    await mapped(this.vault.releaseCvc(credential(name, authorization), body.merchant_id, body.token));
  }
}

function credential(name: string | undefined, authorization: string | undefined): CallerCredential {
  return { name, secret: authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined };
}

async function mapped<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    const { status, type } = httpStatusByCode[error.code];
    if (error.code === 'invalid_card') throw new ApiError(status, type, error.detail ?? 'invalid_card', error.message, `card.${error.field}`);
    throw new ApiError(status, type, httpCodeByCode[error.code] ?? error.code, error.message, error.field);
  }
}

function factsBody(facts: CardFactsOfToken) {
  return {
    token: facts.token, brand: facts.brand, last4: facts.last4, bin: facts.bin, exp_month: facts.expMonth, exp_year: facts.expYear, fingerprint: facts.fingerprint,
    ...(facts.createdAt ? { created_at: facts.createdAt.toISOString() } : {}),
  };
}
