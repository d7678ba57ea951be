import { applyDecorators, type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsObject, ValidateIf, ValidateNested } from 'class-validator';
import { ApiError, echoSafely } from './api-error';

/**
 * How many objects and arrays may enclose one another in a body or query, the body counting as
 * one. The contract's deepest field is three levels down
 * (`payment_method.card.number`); class-transformer recurses once per level, so a body of
 * thousands of nested brackets would overflow the stack (a 500) before validation could refuse it.
 */
export const inputDepthMax = 16;

/**
 * A nested object of the contract: a JSON object, validated as `type`. Arrays, null, numbers and
 * strings are refused here: on its own, `@ValidateNested()` accepts an array (it validates each
 * element, so `[]` passes) and class-transformer turns it into an array of `type`, which then
 * reaches the code that reads the object's fields.
 */
export function NestedObject(type: () => new () => object): PropertyDecorator {
  return applyDecorators(IsObject({ message: '$property must be an object' }), ValidateNested(), Type(type));
}

/**
 * An optional field: it may be left out, but when present it must be valid. Unlike
 * `@IsOptional()`, which also waves `null` through (so that `card: null` or `token: null` reaches
 * code that expects a card or a string), null is refused: to leave a field unset, omit it.
 */
export function Optional(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/**
 * class-validator at the edge: unknown properties are refused, the first failing field is
 * named in `param` (dotted path, e.g. `payment_method.card.exp_month`), and values are never
 * echoed back (they may be card data). Before class-transformer sees it, the input is checked
 * for what no contract field can hold (see `refuseUnfitInput`).
 */
export function contractValidationPipe(): ValidationPipe {
  return new ContractValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const { path, error } = firstLeaf(errors, '');
      const constraint = Object.entries(error.constraints ?? {})[0];
      const code = constraint?.[0] === 'whitelistValidation' ? 'parameter_unknown' : 'parameter_invalid';
      // The path is made of the caller's keys: masked, like anything echoed (a key may be a card number).
      const param = echoSafely(path);
      const message = constraint?.[0] === 'whitelistValidation' ? `Received unknown parameter: ${param}` : `Invalid ${param}: ${describe(constraint?.[1] ?? 'invalid value', error.property, param)}`;
      return ApiError.invalidRequest(code, message, param);
    },
  });
}

class ContractValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if ((metadata.type === 'body' || metadata.type === 'query') && this.toValidate(metadata)) refuseUnfitInput(value, metadata.type);
    return super.transform(value, metadata);
  }
}

/**
 * Refuses, before class-transformer and class-validator see them, inputs they mishandle:
 * a body that is not a JSON object (an array, a string, null), nesting deeper than
 * `inputDepthMax`, keys that name `Object.prototype` members (class-transformer silently drops
 * `__proto__` and `constructor` instead of refusing them as unknown), and text PostgreSQL cannot
 * store (NUL, a lone UTF-16 surrogate), in any value or key. The walk is iterative.
 */
export function refuseUnfitInput(input: unknown, where: 'body' | 'query'): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw ApiError.invalidRequest('invalid_request', where === 'body' ? 'The request body must be a JSON object.' : 'The query string could not be read.');
  }
  // depth: how many objects and arrays enclose the value, the body itself counting as one.
  const pending: { value: unknown; path: string; depth: number }[] = [{ value: input, path: '', depth: 1 }];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === 'string') {
      if (!isStorableText(value)) throw ApiError.invalidRequest('parameter_invalid', `Invalid ${echoSafely(path)}: must be text without NUL characters or unpaired surrogates.`, echoSafely(path));
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > inputDepthMax) throw ApiError.invalidRequest('parameter_invalid', `Invalid ${echoSafely(path)}: nested deeper than ${inputDepthMax} levels.`, echoSafely(path));
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (!isStorableText(key)) throw ApiError.invalidRequest('parameter_unknown', 'Received an unknown parameter whose name is not text.', path ? echoSafely(path) : undefined);
      if (key in Object.prototype) throw ApiError.invalidRequest('parameter_unknown', `Received unknown parameter: ${echoSafely(childPath)}`, echoSafely(childPath));
      pending.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
}

/** NUL, or half of a surrogate pair without its other half: PostgreSQL refuses both in text and jsonb. */
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !unpairedSurrogate.test(text);
}

function firstLeaf(errors: ValidationError[], prefix: string): { path: string; error: ValidationError } {
  const error = errors[0]!;
  const path = prefix ? `${prefix}.${error.property}` : error.property;
  if (!error.constraints && error.children && error.children.length > 0) return firstLeaf(error.children, path);
  return { path, error };
}

/** class-validator messages start with the bare property name; say it once, with its full path. */
function describe(message: string, property: string, path: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message.replace(property, path);
}
