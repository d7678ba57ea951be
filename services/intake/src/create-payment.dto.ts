import { Equals, IsDefined, IsEmail, IsIn, IsInt, IsIP, IsObject, IsString, Length, Matches, Max, MaxLength, Min, registerDecorator, type ValidationOptions } from 'class-validator';
import { amountMinorMax } from '@dirigen/payments';
import { NestedObject, Optional } from '@dirigen/service-kit';

export const metadataKeysMax = 50;
export const metadataKeyLengthMax = 40;
export const metadataValueLengthMax = 500;
export const descriptionLengthMax = 1_000;

export class CardDto {
  @IsString() @Length(12, 23) @Matches(/^[\d\s-]+$/, { message: 'number must contain only digits' }) number!: string;
  @IsInt() @Min(1) @Max(12) exp_month!: number;
  @IsInt() @Min(2000) @Max(2100) exp_year!: number;
  @IsString() @Matches(/^\d{3,4}$/, { message: 'cvc must be 3 or 4 digits' }) cvc!: string;
}

export class PaymentMethodDto {
  @IsIn(['card', 'qris', 'ewallet', 'virtual_account', 'crypto']) type!: string;
  @Optional() @NestedObject(() => CardDto) card?: CardDto;
  @Optional() @IsString() @Length(1, 64) token?: string;
  /** The security code for a payment with a saved card (`token`); its length is checked against the card's brand. */
  @Optional() @IsString() @Matches(/^\d{3,4}$/, { message: 'cvc must be 3 or 4 digits' }) cvc?: string;
  @Optional() @IsString() @Length(1, 32) provider?: string;
  @Optional() @IsString() @Length(1, 32) bank?: string;
  @Optional() @IsString() @Length(1, 16) asset?: string;
}

export class CustomerDto {
  @Optional() @IsEmail() @MaxLength(254) email?: string;
  @Optional() @IsIP() ip?: string;
  @Optional() @Matches(/^[A-Z]{2}$/, { message: 'country must be an ISO 3166-1 alpha-2 code' }) country?: string;
}

/**
 * `POST /v1/payments` (PRODUCT.md, public API contract v1). Unknown fields are refused; a nested
 * object must be an object (`NestedObject`); an optional field may be omitted, never null (`Optional`).
 */
export class CreatePaymentDto {
  @IsInt({ message: 'amount must be an integer in minor units' }) @Min(1) @Max(amountMinorMax) amount!: number;
  @IsString() @Matches(/^[A-Za-z]{3}$/, { message: 'currency must be a three-letter ISO 4217 code' }) currency!: string;
  @IsDefined() @NestedObject(() => PaymentMethodDto) payment_method!: PaymentMethodDto;
  @Optional() @IsIn(['automatic', 'manual']) capture_method?: 'automatic' | 'manual';
  @Optional() @NestedObject(() => CustomerDto) customer?: CustomerDto;
  @Optional() @IsString() @MaxLength(descriptionLengthMax) description?: string;
  @Optional() @IsObject() @IsStringMap() metadata?: Record<string, string>;
  @Optional() @Equals(undefined, { message: 'confirm is implied: payments are created and confirmed at once' }) confirm?: never;
}

/** At most 50 keys of up to 40 characters, string values up to 500 characters (Stripe's limits). */
function IsStringMap(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStringMap',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `metadata must map at most ${metadataKeysMax} keys of up to ${metadataKeyLengthMax} characters to strings of up to ${metadataValueLengthMax} characters`, ...options },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= metadataKeysMax &&
            entries.every(([key, entry]) => key.length > 0 && key.length <= metadataKeyLengthMax && typeof entry === 'string' && entry.length <= metadataValueLengthMax)
          );
        },
      },
    });
}
