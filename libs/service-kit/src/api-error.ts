export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'card_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'api_error';

export interface ApiErrorBody {
  error: { type: ApiErrorType; code: string; message: string; param?: string };
}

/** An error in the public contract's shape; thrown only at the transport edge, never in domain code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    readonly code: string,
    message: string,
    readonly param?: string,
    /** Sent as `Retry-After` (seconds): the failure is temporary and the request safe to repeat. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ApiErrorBody {
    return { error: { type: this.type, code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}) } };
  }

  static invalidRequest(code: string, message: string, param?: string): ApiError {
    return new ApiError(400, 'invalid_request_error', code, message, param);
  }

  static notFound(what: string, id: string, param = 'id'): ApiError {
    return new ApiError(404, 'invalid_request_error', 'resource_missing', `No such ${what}: '${echoSafely(id)}'`, param);
  }
}

/**
 * What a caller sent, fit to echo in an error: truncated, and any run of 12 or more digits
 * (it could be a card number typed into the wrong place) masked but for its last four.
 */
export function echoSafely(text: string): string {
  const truncated = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return truncated.replace(/\d{12,}/g, (digits) => `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`);
}
