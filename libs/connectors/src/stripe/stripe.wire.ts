// Stripe's wire types, as much of them as the connector reads or writes (API v1, PaymentIntents).
// Field names are Stripe's (snake_case); nothing here is ours.

export const stripePaymentIntentStatuses = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;

export type StripePaymentIntentStatus = (typeof stripePaymentIntentStatuses)[number];

export interface StripeNextAction {
  type: string;
  redirect_to_url?: { url: string; return_url?: string | null } | null;
}

export interface StripePaymentIntent {
  id: string;
  object: 'payment_intent';
  status: string;
  amount: number;
  currency: string;
  capture_method?: string;
  amount_capturable?: number;
  amount_received?: number;
  latest_charge?: string | null;
  cancellation_reason?: string | null;
  last_payment_error?: StripeApiError | null;
  next_action?: StripeNextAction | null;
}

/** `type` is one of `card_error`, `invalid_request_error`, `idempotency_error`, `api_error`, `rate_limit_error`. */
export interface StripeApiError {
  type: string;
  code?: string;
  decline_code?: string;
  message?: string;
  param?: string;
  payment_intent?: StripePaymentIntent;
}

export interface StripeErrorBody {
  error: StripeApiError;
}

/** A value Stripe's form encoding can carry: nested objects become `a[b][c]=`, arrays `a[0]=`. */
export type StripeFormValue =
  | string
  | number
  | boolean
  | undefined
  | readonly StripeFormValue[]
  | { readonly [key: string]: StripeFormValue };

export type StripeFormParams = { readonly [key: string]: StripeFormValue };
