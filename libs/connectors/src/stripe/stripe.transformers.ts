import { isValidAmountMinor, type AttemptStatus, type FailureKind } from '@dirigen/payments';
import type { AttemptResult, AuthorizeRequest, NextAction } from '../connector';
import { ConnectorError } from '../connector';
import type { HttpResponse, HttpTransportError } from '../http-client';
import {
  stripePaymentIntentStatuses,
  type StripeApiError,
  type StripeErrorBody,
  type StripeFormParams,
  type StripeFormValue,
  type StripePaymentIntent,
  type StripePaymentIntentStatus,
} from './stripe.wire';

export const stripeConnectorName = 'stripe';

/** Stripe's documented metadata limits; checked here so a bad request never leaves. */
export const stripeMetadataKeysMax = 50;
export const stripeMetadataKeyLengthMax = 40;
export const stripeMetadataValueLengthMax = 500;
export const stripeIdempotencyKeyLengthMax = 255;
/** Our own nesting never passes 3 levels (`payment_method_data[card][number]`); deeper is a bug. */
const formDepthMax = 5;

type Outcome = Omit<AttemptResult, 'pspLatencyMs' | 'pspProcessingMs'>;
/** The parts of an HTTP answer the transformers read. */
type StripeHttpAnswer = Pick<HttpResponse, 'status' | 'bodyText' | 'latencyMs' | 'pspProcessingMs'>;

/** Stripe form encoding: nested keys as `a[b][c]=v`, arrays as `a[0]=v`, `undefined` left out. */
export function encodeStripeForm(params: StripeFormParams): URLSearchParams {
  const form = new URLSearchParams();
  for (const key of Object.keys(params)) appendFormValue(form, key, params[key], 1);
  return form;
}

function appendFormValue(form: URLSearchParams, key: string, value: StripeFormValue, depth: number): void {
  if (depth > formDepthMax) throw new Error(`invariant: form nesting deeper than ${formDepthMax} at ${key}`);
  if (value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((item: StripeFormValue, index) => appendFormValue(form, `${key}[${index}]`, item, depth + 1));
  } else if (typeof value === 'object') {
    const nested = value as StripeFormParams;
    for (const child of Object.keys(nested)) appendFormValue(form, `${key}[${child}]`, nested[child], depth + 1);
  } else {
    form.append(key, String(value));
  }
}

/** The PaymentIntent create-and-confirm parameters for one authorization attempt. */
export function toPaymentIntentCreateParams(request: AuthorizeRequest): StripeFormParams {
  assertAuthorizable(request);
  return {
    amount: request.amount.amountMinor, // Stripe takes minor units for every currency, zero-decimal ones too
    currency: request.amount.currency.toLowerCase(),
    confirm: true,
    capture_method: request.captureMethod,
    // Card only, so Stripe never needs a return_url for redirect-based methods.
    payment_method_types: ['card'],
    payment_method_data: {
      type: 'card',
      card: {
        number: request.card.number,
        exp_month: request.card.expMonth,
        exp_year: request.card.expYear,
        cvc: request.card.cvc,
      },
    },
    description: request.description,
    // Our keys last, so a merchant key cannot overwrite them.
    metadata: {
      ...request.metadata,
      dirigen_payment_id: request.paymentId,
      dirigen_attempt_id: request.attemptId,
      dirigen_merchant_id: request.merchantId,
    },
  };
}

export function toPaymentIntentCreateForm(request: AuthorizeRequest): URLSearchParams {
  return encodeStripeForm(toPaymentIntentCreateParams(request));
}

/** Refuses what Stripe would refuse, without echoing values (the request carries card data). */
function assertAuthorizable(request: AuthorizeRequest): void {
  const refuse = (reason: string): never => {
    throw new ConnectorError('invalid_request', stripeConnectorName, `authorize refused before sending: ${reason}`);
  };
  if (request.attemptId.length === 0 || request.attemptId.length > stripeIdempotencyKeyLengthMax) {
    refuse(`attemptId must be 1..${stripeIdempotencyKeyLengthMax} characters (it is the idempotency key)`);
  }
  if (!isValidAmountMinor(request.amount.amountMinor)) refuse('amount must be a positive integer in minor units');
  if (!/^[A-Z]{3}$/.test(request.amount.currency)) refuse('currency must be an upper-case ISO 4217 code');
  const metadataKeys = Object.keys(request.metadata);
  if (metadataKeys.length + 3 > stripeMetadataKeysMax) refuse(`metadata holds more than ${stripeMetadataKeysMax - 3} keys`);
  for (const key of metadataKeys) {
    if (key.length > stripeMetadataKeyLengthMax) refuse(`a metadata key is longer than ${stripeMetadataKeyLengthMax}`);
    if (request.metadata[key]!.length > stripeMetadataValueLengthMax) {
      refuse(`metadata value of ${key} is longer than ${stripeMetadataValueLengthMax}`);
    }
  }
}

/**
 * Card-error codes we act on, looked up by `decline_code` first (the issuer's reason) then `code`.
 * A table, not `if`s, so the list can grow with Stripe's docs. Hard declines never fail over:
 * another PSP would reach the same issuer, and retries after such declines cost network fees.
 */
const cardErrorOutcomes: ReadonlyMap<string, { status: AttemptStatus; failureKind: FailureKind }> = new Map([
  ['card_declined', { status: 'declined', failureKind: 'hard_decline' }],
  ['insufficient_funds', { status: 'declined', failureKind: 'hard_decline' }],
  ['expired_card', { status: 'declined', failureKind: 'hard_decline' }],
  ['incorrect_cvc', { status: 'declined', failureKind: 'hard_decline' }],
  ['lost_card', { status: 'declined', failureKind: 'hard_decline' }],
  ['stolen_card', { status: 'declined', failureKind: 'hard_decline' }],
  // Stripe could not finish with the card network: nothing was charged, another connector may succeed.
  ['processing_error', { status: 'failed', failureKind: 'soft_decline' }],
]);

/**
 * A `card_error` is Stripe saying the card was not charged. Codes outside the table are still
 * declines; treating them as hard is the conservative reading (no failover, no extra fees).
 */
export function cardErrorToOutcome(error: StripeApiError, pspReference: string | undefined): Outcome {
  const known = cardErrorOutcomes.get(error.decline_code ?? '') ?? cardErrorOutcomes.get(error.code ?? '');
  const { status, failureKind } = known ?? { status: 'declined', failureKind: 'hard_decline' };
  return {
    status,
    pspReference,
    // `generic_decline` says no more than `card_declined`, the code merchants know.
    failureCode: error.decline_code && error.decline_code !== 'generic_decline' ? error.decline_code : (error.code ?? 'card_declined'),
    failureMessage: error.message ?? 'The card was declined.',
    failureKind,
  };
}

/** Maps every PaymentIntent status; only an explicit success or failure is final, the rest is unknown. */
export function paymentIntentToOutcome(intent: StripePaymentIntent): Outcome {
  const pspReference = intent.id;
  const status = knownIntentStatus(intent.status);
  if (status === undefined) return unknownOutcome(pspReference, 'unexpected_status', `Stripe answered status ${intent.status}.`);
  switch (status) {
    case 'succeeded':
      return { status: 'captured', pspReference };
    case 'requires_capture':
      return { status: 'authorized', pspReference };
    case 'requires_action':
      return { status: 'requires_action', pspReference, nextAction: redirectOf(intent) };
    case 'requires_payment_method':
      // With an error it is a declined attempt (what a retrieve after a decline shows); without, nothing happened yet.
      if (intent.last_payment_error) return cardErrorToOutcome(intent.last_payment_error, pspReference);
      return unknownOutcome(pspReference, 'requires_payment_method', 'The PaymentIntent has no confirmed payment method.');
    case 'processing':
    case 'requires_confirmation':
      return unknownOutcome(pspReference, status, `The PaymentIntent is in status ${status}.`);
    case 'canceled':
      // No failureKind: a canceled intent is no reason to charge the card elsewhere.
      return {
        status: 'failed',
        pspReference,
        failureCode: 'payment_intent_canceled',
        failureMessage: `The PaymentIntent was canceled${intent.cancellation_reason ? ` (${intent.cancellation_reason})` : ''}.`,
      };
    default:
      return assertNever(status);
  }
}

/** An HTTP answer from Stripe, whatever its status, as an attempt result. Throws only when our credentials fail. */
export function stripeResponseToAttemptResult(response: StripeHttpAnswer): AttemptResult {
  return { ...stripeResponseToOutcome(response.status, parseJson(response.bodyText)), ...timingsOf(response) };
}

/**
 * A PaymentIntent search for one attempt: its outcome when found, undefined when Stripe has none.
 * Anything but a search result is answered as the same call's error would be (unknown, never "none").
 */
export function stripeSearchResponseToAttemptResult(response: StripeHttpAnswer): AttemptResult | undefined {
  const body = parseJson(response.bodyText) as { object?: unknown; data?: unknown } | undefined;
  if (response.status === 200 && body?.object === 'search_result' && Array.isArray(body.data)) {
    const [first] = body.data as unknown[];
    if (first === undefined) return undefined;
    if (isPaymentIntent(first)) return { ...paymentIntentToOutcome(first), ...timingsOf(response) };
  }
  if (response.status === 200) return { ...unknownOutcome(undefined, 'unexpected_response', 'Stripe answered a search without a search result.'), ...timingsOf(response) };
  return stripeResponseToAttemptResult(response);
}

/** The call's duration as we measured it, and the PSP's own processing time when it reported one. */
function timingsOf(response: StripeHttpAnswer): Pick<AttemptResult, 'pspLatencyMs' | 'pspProcessingMs'> {
  return { pspLatencyMs: response.latencyMs, ...(response.pspProcessingMs === undefined ? {} : { pspProcessingMs: response.pspProcessingMs }) };
}

function stripeResponseToOutcome(httpStatus: number, body: unknown): Outcome {
  if (httpStatus === 401 || httpStatus === 403) {
    throw new ConnectorError('authentication', stripeConnectorName, `Stripe refused the credentials (HTTP ${httpStatus})`);
  }
  if (httpStatus >= 200 && httpStatus < 300) {
    if (isPaymentIntent(body)) return paymentIntentToOutcome(body);
    return unknownOutcome(undefined, 'unexpected_response', `HTTP ${httpStatus} without a PaymentIntent.`);
  }
  const error = isStripeErrorBody(body) ? body.error : undefined;
  if (httpStatus === 429 || error?.code === 'rate_limit' || error?.type === 'rate_limit_error') {
    // Stripe refused before doing anything: safe to go elsewhere.
    return { status: 'failed', failureCode: 'rate_limit', failureMessage: 'Stripe rate-limited the request.', failureKind: 'retryable' };
  }
  // 5xx: the charge may have happened. 409: the same key is still in flight, its outcome not yet known.
  // Either way never a decline: the orchestrator inquires first.
  if (httpStatus >= 500 || httpStatus === 409 || !error) {
    return unknownOutcome(error && intentIdOf(error), error?.code ?? 'psp_error', error?.message ?? `Stripe answered HTTP ${httpStatus}.`);
  }
  const reference = intentIdOf(error);
  switch (error.type) {
    case 'card_error':
      return cardErrorToOutcome(error, reference);
    case 'idempotency_error':
      // The attempt id was reused with other parameters: a bug on our side, not a payment outcome.
      throw new ConnectorError('invalid_request', stripeConnectorName, 'Stripe refused a reused idempotency key (attemptId)');
    case 'invalid_request_error':
      return {
        status: 'failed',
        pspReference: reference,
        failureCode: error.code ?? 'invalid_request',
        failureMessage: error.message ?? 'Stripe refused the request.',
        failureKind: 'invalid_request',
      };
    default:
      return unknownOutcome(reference, error.code ?? error.type, error.message ?? `Stripe answered HTTP ${httpStatus}.`);
  }
}

/** Below HTTP: only a request that provably never left may go elsewhere; after a timeout the charge may exist. */
export function transportErrorToAttemptResult(error: HttpTransportError): AttemptResult {
  switch (error.failure) {
    case 'not_sent':
      return {
        status: 'failed',
        failureCode: 'psp_unreachable',
        failureMessage: 'Stripe could not be reached; nothing was sent.',
        failureKind: 'retryable',
        pspLatencyMs: error.latencyMs,
      };
    case 'timeout':
      return { ...unknownOutcome(undefined, 'psp_timeout', 'Stripe did not answer in time.'), pspLatencyMs: error.latencyMs };
    case 'network':
      return { ...unknownOutcome(undefined, 'psp_connection_error', 'The connection to Stripe failed.'), pspLatencyMs: error.latencyMs };
    default:
      return assertNever(error.failure);
  }
}

function unknownOutcome(pspReference: string | undefined, failureCode: string, failureMessage: string): Outcome {
  return { status: 'unknown', pspReference, failureCode, failureMessage, failureKind: 'unknown_outcome' };
}

function redirectOf(intent: StripePaymentIntent): NextAction | undefined {
  const url = intent.next_action?.redirect_to_url?.url;
  return url ? { type: 'redirect_to_url', url } : undefined;
}

function intentIdOf(error: StripeApiError): string | undefined {
  return isPaymentIntent(error.payment_intent) ? error.payment_intent.id : undefined;
}

function knownIntentStatus(status: string): StripePaymentIntentStatus | undefined {
  return (stripePaymentIntentStatuses as readonly string[]).includes(status) ? (status as StripePaymentIntentStatus) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // a proxy's HTML page or an empty body: the caller treats it as "not Stripe"
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isPaymentIntent(value: unknown): value is StripePaymentIntent {
  return isRecord(value) && value['object'] === 'payment_intent' && typeof value['id'] === 'string' && typeof value['status'] === 'string';
}

export function isStripeErrorBody(value: unknown): value is StripeErrorBody {
  return isRecord(value) && isRecord(value['error']) && typeof value['error']['type'] === 'string';
}

function assertNever(value: never): never {
  throw new Error(`invariant: unhandled case ${String(value)}`);
}
