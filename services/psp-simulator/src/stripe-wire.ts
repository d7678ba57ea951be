// Stripe's wire shapes as the simulator serves them. Deliberately not shared with libs/connectors:
// the simulator plays Stripe, so a wrong assumption in the connector must not be copied into it.

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export type CaptureMethod = 'automatic' | 'automatic_async' | 'manual';

export interface LastPaymentError {
  type: 'card_error';
  code: string;
  decline_code?: string;
  message: string;
  payment_method?: { id: string; object: 'payment_method'; type: 'card' };
}

export interface PaymentIntentWire {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: CaptureMethod;
  client_secret: string;
  confirmation_method: 'automatic';
  created: number;
  currency: string;
  description: string | null;
  last_payment_error: LastPaymentError | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Record<string, string>;
  next_action: { type: 'redirect_to_url'; redirect_to_url: { url: string; return_url: string | null } } | null;
  payment_method: string | null;
  payment_method_types: string[];
  status: PaymentIntentStatus;
}

export type StripeErrorType = 'card_error' | 'invalid_request_error' | 'idempotency_error' | 'api_error';

export interface StripeErrorFields {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  charge?: string;
  payment_intent?: PaymentIntentWire;
}

/** One HTTP answer, already serialized: what the idempotency store keeps and replays byte for byte. */
export interface SimulatedResponse {
  statusCode: number;
  bodyText: string;
}

export function jsonResponse(statusCode: number, body: unknown): SimulatedResponse {
  return { statusCode, bodyText: JSON.stringify(body) };
}

export function stripeError(statusCode: number, error: StripeErrorFields): SimulatedResponse {
  return jsonResponse(statusCode, { error });
}

export function invalidRequest(message: string, param?: string, code?: string): SimulatedResponse {
  return stripeError(400, { type: 'invalid_request_error', message, param, code });
}

export function missingParam(param: string): SimulatedResponse {
  return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
}

export function noSuchPaymentIntent(id: string): SimulatedResponse {
  return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'intent', message: `No such payment_intent: '${id}'` });
}

/** `verb` and `participle` as in "You cannot capture …; … may be captured". */
export function unexpectedState(intent: PaymentIntentWire, verb: string, participle: string, allowed: readonly string[]): SimulatedResponse {
  return stripeError(400, {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    message: `You cannot ${verb} this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be ${participle}: ${allowed.join(', ')}.`,
    payment_intent: intent,
  });
}

export const outageResponse = stripeError(503, { type: 'api_error', message: 'The Stripe API is temporarily unavailable (simulated outage).' });
/** What a proxy in front of the PSP answers: not a Stripe body, so clients must not read it as one. */
export const upstreamErrorResponse: SimulatedResponse = { statusCode: 500, bodyText: '{"message":"upstream connect error or disconnect/reset before headers"}' };
export const missingKeyResponse = stripeError(401, {
  type: 'invalid_request_error',
  message: 'Invalid API Key provided. The simulator accepts any secret test key (Authorization: Bearer sk_test_...).',
});
export const bodyTooLargeResponse = invalidRequest('The request body is too large.');

export function idempotencyConflict(key: string): SimulatedResponse {
  return stripeError(400, {
    type: 'idempotency_error',
    message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
  });
}
