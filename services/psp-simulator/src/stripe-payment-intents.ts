import { BoundedMap } from './bounded-map';
import { randomAlphanumeric, type IdGenerator } from './random-ids';
import {
  invalidRequest,
  missingParam,
  noSuchPaymentIntent,
  stripeError,
  unexpectedState,
  type CaptureMethod,
  type PaymentIntentWire,
  type SimulatedResponse,
} from './stripe-wire';
import { metadataKeysMax, parseAmount, readMetadata, readPaymentMethod } from './stripe-params';
import { authorizeCard, type SimulatedCard } from './test-cards';

/** Authorizations by outcome, as `/_sim/stats` reports them. */
export interface AuthorizationCounts {
  approved: number;
  declined: number;
  processing_error: number;
  requires_action: number;
}

/**
 * An intent is kept serialized: one compact string instead of a tree of objects, and the very
 * string a retrieve or a creation answers with. Only the rare state changes parse it again.
 */
interface IntentRecord {
  json: string;
  /** A card given at creation without `confirm`; dropped as soon as the confirmation uses it. */
  pendingCard: SimulatedCard | undefined;
}

const listLimitDefault = 10;
const listLimitMax = 100;
const captureMethods: readonly string[] = ['automatic', 'automatic_async', 'manual'];
const cancellationReasons: readonly string[] = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
const confirmableStatuses = ['requires_payment_method', 'requires_confirmation'] as const;
const cancelableStatuses = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'] as const;

/** PaymentIntents as Stripe runs them: create, confirm (the authorization), capture, cancel, retrieve. */
export class StripePaymentIntents {
  private readonly intents: BoundedMap<string, IntentRecord>;
  readonly authorizations: AuthorizationCounts = { approved: 0, declined: 0, processing_error: 0, requires_action: 0 };
  captures = 0;
  cancels = 0;

  constructor(
    recordsMax: number,
    private readonly ids: IdGenerator,
    private readonly nowMs: () => number,
  ) {
    this.intents = new BoundedMap(recordsMax);
  }

  get size(): number {
    return this.intents.size;
  }

  create(params: URLSearchParams, origin: string): SimulatedResponse {
    const amountText = params.get('amount');
    if (amountText === null) return missingParam('amount');
    const amount = parseAmount(amountText);
    if (amount === undefined) return invalidRequest(`Invalid integer: ${amountText}`, 'amount', 'parameter_invalid_integer');
    if (amount < 1) return invalidRequest('Amount must be at least 1.', 'amount', 'amount_too_small');
    const currency = params.get('currency');
    if (currency === null) return missingParam('currency');
    if (!/^[a-zA-Z]{3}$/.test(currency)) return invalidRequest(`Invalid currency: ${currency}.`, 'currency');
    const captureMethod = params.get('capture_method') ?? 'automatic';
    if (!captureMethods.includes(captureMethod)) {
      return invalidRequest(`Invalid capture_method: must be one of ${captureMethods.join(', ')}`, 'capture_method');
    }
    const metadata = readMetadata(params);
    if (metadata === undefined) return invalidRequest(`Metadata can have at most ${metadataKeysMax} keys.`, 'metadata');
    const paymentMethod = readPaymentMethod(params, this.nowMs());
    if (paymentMethod.kind === 'error') return paymentMethod.response;
    const confirm = params.get('confirm') === 'true';
    if (confirm && paymentMethod.kind === 'none') return missingParam('payment_method');

    const id = this.ids.next('pi');
    const wire: PaymentIntentWire = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod as CaptureMethod,
      client_secret: `${id}_secret_${randomAlphanumeric(24)}`,
      confirmation_method: 'automatic',
      created: Math.floor(this.nowMs() / 1000),
      currency: currency.toLowerCase(),
      description: params.get('description'),
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata,
      next_action: null,
      payment_method: null,
      payment_method_types: ['card'],
      status: paymentMethod.kind === 'card' ? 'requires_confirmation' : 'requires_payment_method',
    };
    const record: IntentRecord = { json: '', pendingCard: paymentMethod.kind === 'card' ? paymentMethod.card : undefined };
    this.intents.set(id, record);
    return confirm ? this.runConfirmation(record, wire, origin, params.get('return_url')) : save(record, wire);
  }

  confirm(id: string, params: URLSearchParams, origin: string): SimulatedResponse {
    const record = this.intents.get(id);
    if (!record) return noSuchPaymentIntent(id);
    const wire = load(record);
    if (!(confirmableStatuses as readonly string[]).includes(wire.status)) {
      return unexpectedState(wire, 'confirm', 'confirmed', confirmableStatuses);
    }
    const paymentMethod = readPaymentMethod(params, this.nowMs());
    if (paymentMethod.kind === 'error') return paymentMethod.response;
    if (paymentMethod.kind === 'card') record.pendingCard = paymentMethod.card;
    if (!record.pendingCard) return missingParam('payment_method');
    const captureMethod = params.get('capture_method');
    if (captureMethod !== null) {
      if (!captureMethods.includes(captureMethod)) return invalidRequest('Invalid capture_method.', 'capture_method');
      wire.capture_method = captureMethod as CaptureMethod;
    }
    return this.runConfirmation(record, wire, origin, params.get('return_url'));
  }

  /**
   * Stripe's list: newest first, `limit` 1..100 (default 10), `starting_after` an intent id to page on.
   * (Stripe orders by `created` in seconds; here by creation order, which agrees and never ties.)
   */
  list(query: URLSearchParams): SimulatedResponse {
    const limitText = query.get('limit') ?? String(listLimitDefault);
    const limit = parseAmount(limitText);
    if (limit === undefined || limit < 1 || limit > listLimitMax) return invalidRequest(`Invalid limit: must be an integer from 1 to ${listLimitMax}.`, 'limit');
    const newestFirst = [...this.intents.entriesInOrder()].reverse();
    const startingAfter = query.get('starting_after');
    let from = 0;
    if (startingAfter !== null) {
      const at = newestFirst.findIndex(([id]) => id === startingAfter);
      if (at === -1) return noSuchPaymentIntent(startingAfter);
      from = at + 1;
    }
    const page = newestFirst.slice(from, from + limit);
    const bodyText = `{"object":"list","data":[${page.map(([, record]) => record.json).join(',')}],"has_more":${from + limit < newestFirst.length},"url":"/v1/payment_intents"}`;
    return { statusCode: 200, bodyText };
  }

  /**
   * Stripe's Search API, for the one query the orchestrator makes: `metadata['key']:'value'` (single
   * or double quotes), newest first, `limit` 1..100. Stripe's own search lags writes by up to a minute;
   * the simulator's does not (a staging drill can add latency, not lag).
   */
  search(query: URLSearchParams): SimulatedResponse {
    const text = query.get('query');
    if (text === null) return missingParam('query');
    const clause = /^\s*metadata\[(['"])([^'"]{1,40})\1\]\s*:\s*(['"])([^'"]{0,500})\3\s*$/.exec(text);
    if (!clause) return invalidRequest(`The simulator searches by one metadata clause (metadata['key']:'value'); got: ${text.slice(0, 80)}`, 'query');
    const [, , key, , value] = clause;
    const limit = parseAmount(query.get('limit') ?? String(listLimitDefault));
    if (limit === undefined || limit < 1 || limit > listLimitMax) return invalidRequest(`Invalid limit: must be an integer from 1 to ${listLimitMax}.`, 'limit');
    const found: string[] = [];
    for (const [, record] of [...this.intents.entriesInOrder()].reverse()) {
      if (found.length === limit) break;
      // The raw JSON first: parsing every intent would cost a drill with 100k records a second.
      if (record.json.includes(value!) && load(record).metadata[key!] === value) found.push(record.json);
    }
    return { statusCode: 200, bodyText: `{"object":"search_result","data":[${found.join(',')}],"has_more":false,"next_page":null,"url":"/v1/payment_intents/search"}` };
  }

  retrieve(id: string): SimulatedResponse {
    const record = this.intents.get(id);
    return record ? { statusCode: 200, bodyText: record.json } : noSuchPaymentIntent(id);
  }

  capture(id: string, params: URLSearchParams): SimulatedResponse {
    const record = this.intents.get(id);
    if (!record) return noSuchPaymentIntent(id);
    const wire = load(record);
    if (wire.status !== 'requires_capture') return unexpectedState(wire, 'capture', 'captured', ['requires_capture']);
    const requested = params.get('amount_to_capture');
    const amountToCapture = requested === null ? wire.amount_capturable : parseAmount(requested);
    if (amountToCapture === undefined || amountToCapture < 1 || amountToCapture > wire.amount_capturable) {
      return invalidRequest('The amount to capture must be a positive integer no larger than amount_capturable.', 'amount_to_capture');
    }
    wire.status = 'succeeded';
    wire.amount_received = amountToCapture;
    wire.amount_capturable = 0;
    this.captures += 1;
    return save(record, wire);
  }

  cancel(id: string, params: URLSearchParams): SimulatedResponse {
    const record = this.intents.get(id);
    if (!record) return noSuchPaymentIntent(id);
    const wire = load(record);
    if (!(cancelableStatuses as readonly string[]).includes(wire.status)) return unexpectedState(wire, 'cancel', 'canceled', cancelableStatuses);
    const reason = params.get('cancellation_reason');
    if (reason !== null && !cancellationReasons.includes(reason)) {
      return invalidRequest(`Invalid cancellation_reason: must be one of ${cancellationReasons.join(', ')}`, 'cancellation_reason');
    }
    wire.status = 'canceled';
    wire.canceled_at = Math.floor(this.nowMs() / 1000);
    wire.cancellation_reason = reason;
    wire.amount_capturable = 0;
    wire.next_action = null;
    record.pendingCard = undefined;
    this.cancels += 1;
    return save(record, wire);
  }

  /** The customer passed the simulated 3-D Secure challenge: the intent is authorized. */
  completeAuthentication(id: string): { response: SimulatedResponse; returnUrl: string | null } | undefined {
    const record = this.intents.get(id);
    const wire = record && load(record);
    if (!record || wire?.status !== 'requires_action') return undefined;
    const returnUrl = wire.next_action?.redirect_to_url.return_url ?? null;
    this.approve(wire);
    return { response: save(record, wire), returnUrl };
  }

  reset(): void {
    this.intents.clear();
    this.authorizations.approved = 0;
    this.authorizations.declined = 0;
    this.authorizations.processing_error = 0;
    this.authorizations.requires_action = 0;
    this.captures = 0;
    this.cancels = 0;
  }

  /** The authorization itself: the card number decides, as with Stripe's test cards. */
  private runConfirmation(record: IntentRecord, wire: PaymentIntentWire, origin: string, returnUrl: string | null): SimulatedResponse {
    const card = record.pendingCard;
    if (!card) throw new Error('invariant: a confirmation needs a card');
    record.pendingCard = undefined;
    wire.payment_method = this.ids.next('pm');
    const outcome = authorizeCard(card, this.nowMs());
    switch (outcome.kind) {
      case 'approve':
        this.authorizations.approved += 1;
        this.approve(wire);
        return save(record, wire);
      case 'requires_action':
        this.authorizations.requires_action += 1;
        wire.status = 'requires_action';
        wire.next_action = { type: 'redirect_to_url', redirect_to_url: { url: `${origin}/_sim/3ds/${wire.id}`, return_url: returnUrl } };
        return save(record, wire);
      case 'card_error': {
        this.authorizations[outcome.category] += 1;
        // Stripe records a failed charge and detaches the payment method; the intent waits for another one.
        const charge = this.ids.next('ch');
        wire.status = 'requires_payment_method';
        wire.latest_charge = charge;
        wire.last_payment_error = {
          type: 'card_error',
          code: outcome.code,
          decline_code: outcome.declineCode,
          message: outcome.message,
          payment_method: { id: wire.payment_method, object: 'payment_method', type: 'card' },
        };
        wire.payment_method = null;
        save(record, wire);
        const { type: _type, payment_method: _paymentMethod, ...fields } = wire.last_payment_error;
        return stripeError(402, { type: 'card_error', ...fields, charge, payment_intent: wire });
      }
      default:
        return assertNever(outcome);
    }
  }

  private approve(wire: PaymentIntentWire): void {
    const manual = wire.capture_method === 'manual';
    wire.status = manual ? 'requires_capture' : 'succeeded';
    wire.amount_capturable = manual ? wire.amount : 0;
    wire.amount_received = manual ? 0 : wire.amount;
    wire.latest_charge = this.ids.next('ch');
    wire.last_payment_error = null;
    wire.next_action = null;
  }
}

function load(record: IntentRecord): PaymentIntentWire {
  return JSON.parse(record.json) as PaymentIntentWire;
}

/** Stores the new state and answers with it: the same string serves both. */
function save(record: IntentRecord, wire: PaymentIntentWire): SimulatedResponse {
  record.json = JSON.stringify(wire);
  return { statusCode: 200, bodyText: record.json };
}

function assertNever(value: never): never {
  throw new Error(`invariant: unhandled case ${JSON.stringify(value)}`);
}
