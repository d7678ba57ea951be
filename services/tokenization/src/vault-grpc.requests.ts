import { plainToInstance, Type } from 'class-transformer';
import { IsDefined, IsIn, IsInt, IsObject, IsString, Length, Matches, Max, MaxLength, Min, validateSync, ValidateNested, type ValidationError } from 'class-validator';
import { vaultBatchRequestsMax } from '@dirigen/vault-client';
import { auditPageSizeMax } from './card-vault';
import { VaultError } from './vault-error';

/**
 * The limits every gRPC request must meet before the vault acts on it (protobuf only guarantees
 * types). Optional strings are empty when absent, so they are bounded but may be empty.
 */
const idLengthMax = 64;

export class CardRules {
  @IsString() @Length(12, 23) number!: string;
  @IsInt() @Min(1) @Max(12) expMonth!: number;
  @IsInt() @Min(2000) @Max(2100) expYear!: number;
  @IsString() @Matches(/^\d{3,4}$/, { message: 'cvc must be 3 or 4 digits' }) cvc!: string;
}

export class TokenizeRules {
  @IsString() @Length(1, idLengthMax) merchantId!: string;
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CardRules) card!: CardRules;
  /** CardUse PAYMENT (1) or SAVED (2); UNSPECIFIED (0) is refused. */
  @IsIn([1, 2], { message: 'use must be CARD_USE_PAYMENT or CARD_USE_SAVED' }) use!: number;
  @IsString() @MaxLength(idLengthMax) requestId!: string;
}

export class TokenRefRules {
  @IsString() @Length(1, idLengthMax) merchantId!: string;
  @IsString() @Length(1, idLengthMax) token!: string;
}

export class DetokenizeRules extends TokenRefRules {
  @IsString() @Length(1, idLengthMax) purpose!: string;
  @IsString() @MaxLength(idLengthMax) paymentId!: string;
}

export class HoldSecurityCodeRules extends TokenRefRules {
  @IsString() @Length(1, idLengthMax) paymentId!: string;
  @IsString() @Matches(/^\d{3,4}$/, { message: 'cvc must be 3 or 4 digits' }) cvc!: string;
}

export class ReleaseSecurityCodeRules extends TokenRefRules {
  @IsString() @MaxLength(idLengthMax) paymentId!: string;
}

export class QueryAuditRules {
  @IsString() @MaxLength(idLengthMax) token!: string;
  @IsString() @MaxLength(idLengthMax) paymentId!: string;
  /** 0 means a full page. */
  @IsInt() @Min(0) @Max(auditPageSizeMax) limit!: number;
}

/**
 * The request checked against its rules; the first failure becomes `invalid_request` naming the
 * field as the .proto spells it (`card.exp_month`). Values are never echoed: they may be card data.
 */
export function validated<Rules extends object>(rules: new () => Rules, request: object): Rules {
  const instance = plainToInstance(rules, request);
  const errors = validateSync(instance, { stopAtFirstError: true, validationError: { target: false, value: false } });
  if (errors.length === 0) return instance;
  const { path, error } = firstLeaf(errors, '');
  const field = path.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  const constraint = Object.values(error.constraints ?? {})[0] ?? 'invalid value';
  throw new VaultError('invalid_request', `Invalid ${field}: ${constraint.startsWith(`${error.property} `) ? constraint.slice(error.property.length + 1) : constraint}`, field);
}

/** Every request of a batch call, each checked as the single call's is; an empty batch or one over `vaultBatchRequestsMax` (the contract's limit, shared with its client) is refused. */
export function validatedBatch<Rules extends object>(rules: new () => Rules, requests: readonly object[]): Rules[] {
  if (requests.length === 0 || requests.length > vaultBatchRequestsMax) {
    throw new VaultError('invalid_request', `Invalid requests: a batch holds 1 to ${vaultBatchRequestsMax} requests, not ${requests.length}`, 'requests');
  }
  return requests.map((request, index) => {
    try {
      return validated(rules, request);
    } catch (error) {
      if (!(error instanceof VaultError) || !error.field) throw error;
      throw new VaultError('invalid_request', error.message.replace(`Invalid ${error.field}`, `Invalid requests[${index}].${error.field}`), `requests[${index}].${error.field}`);
    }
  });
}

function firstLeaf(errors: ValidationError[], prefix: string): { path: string; error: ValidationError } {
  const error = errors[0]!;
  const path = prefix ? `${prefix}.${error.property}` : error.property;
  if (!error.constraints && error.children && error.children.length > 0) return firstLeaf(error.children, path);
  return { path, error };
}
