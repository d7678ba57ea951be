import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { containsCardNumber } from '@dirigen/cards';
import { ApiError } from '@dirigen/service-kit';

/** Where a card number was found: the field to name in the error (never the value). */
export interface CardDataLocation {
  /** Dotted path of the field (`metadata.note`) or the object whose key it is; absent for a top-level key. */
  param?: string;
  /** For the message: "metadata.note", "a key of metadata". */
  description: string;
}

/**
 * The first card number in the request's free text: every string value and every object key of
 * the JSON body, at any depth and whatever the route's DTO declares (so a new free-text field is
 * covered the day it is added, and an unknown field never echoes a card number back in a
 * validation error). The one field that is meant to carry a card number to the vault
 * (`cardNumberField`) is the exception. The Idempotency-Key header is not scanned: intake keeps
 * only its keyed hash (`idempotencyKeyHash`), never the text, and `validIdempotencyKey` bounds it.
 * The walk is iterative: nesting depth is bounded only by the body size limit, not by the stack.
 */
export function findCardDataInRequest(body: unknown, cardNumberField: string): CardDataLocation | undefined {
  const pending: { value: unknown; path: string }[] = [{ value: body, path: '' }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string') {
      if (path !== cardNumberField && containsCardNumber(value)) return { param: path, description: path || 'the request body' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const entries = Object.entries(value);
    for (const [key] of entries) {
      if (containsCardNumber(key)) return { ...(path ? { param: path } : {}), description: `a key of ${path || 'the request body'}` };
    }
    // Reversed onto the stack, so fields are looked at in the order they were sent.
    for (const [key, child] of entries.reverse()) pending.push({ value: child, path: path ? `${path}.${key}` : key });
  }
  return undefined;
}

/**
 * Refuses a request that carries a card number in free text, before anything is validated,
 * stored, published or charged (PCI DSS: card data lives only in the vault). Runs after
 * authentication, so an unauthenticated caller learns nothing. The error names the field, never the value.
 */
export class CardDataInFreeTextGuard implements CanActivate {
  constructor(private readonly cardNumberField: string) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ body?: unknown }>();
    const found = findCardDataInRequest(request.body, this.cardNumberField);
    if (found) {
      throw ApiError.invalidRequest(
        'card_data_in_free_text',
        `${capitalize(found.description)} looks like it contains a card number. Send card numbers only in ${this.cardNumberField}; they are not accepted in free text.`,
        found.param,
      );
    }
    return true;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
