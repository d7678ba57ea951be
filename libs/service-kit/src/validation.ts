import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error';

/**
 * class-validator at the edge: unknown properties are refused, the first failing field is
 * named in `param` (dotted path, e.g. `payment_method.card.exp_month`), and values are never
 * echoed back (they may be card data).
 */
export function contractValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
      const message = constraint?.[0] === 'whitelistValidation' ? `Received unknown parameter: ${path}` : `Invalid ${path}: ${describe(constraint?.[1] ?? 'invalid value', error.property, path)}`;
      return ApiError.invalidRequest(code, message, path);
    },
  });
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
