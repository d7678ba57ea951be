import { ConnectorError, type AttemptResult, type AuthorizeRequest, type ConnectorCapabilities, type PaymentConnector } from '../connector';
import { HttpClient, HttpTransportError, type HttpRequest } from '../http-client';
import { stripeConnectorName, stripeResponseToAttemptResult, stripeSearchResponseToAttemptResult, toPaymentIntentCreateForm, transportErrorToAttemptResult } from './stripe.transformers';

/** The API version the transformers were written against; pinned so Stripe never changes shapes under us. */
export const stripeApiVersion = '2026-10-28.endive';
/** Sockets per Stripe origin: enough for ~2,300 payments/s at ~100 ms PSP latency, with headroom. */
export const stripeMaxSocketsDefault = 512;

export interface StripeConnectorOptions {
  /** `https://api.stripe.com`, or a simulator such as `http://localhost:8090`. */
  baseUrl: string;
  secretKey: string;
  timeoutMs: number;
  maxSockets?: number;
}

/** Attempt ids only: the id goes into a search query, so no quote or operator may pass. */
const attemptIdPattern = /^att_[A-Za-z0-9_-]{1,200}$/;
/** PaymentIntent ids only: the id goes into a URL path, so nothing else may pass. */
const paymentIntentIdPattern = /^pi_[A-Za-z0-9_]{1,200}$/;

/**
 * Stripe PaymentIntents over HTTP. Stateless: every call carries all it needs, and the
 * attempt id is the Idempotency-Key, so repeating `authorize` for one attempt replays
 * Stripe's first answer instead of charging again (that is also how an unknown outcome
 * is resolved when no PaymentIntent id came back).
 */
export class StripeConnector implements PaymentConnector {
  readonly name = stripeConnectorName;
  readonly capabilities: ConnectorCapabilities = { methods: ['card'], currencies: [], manualCapture: true };
  private readonly http: HttpClient;
  private readonly authorization: string;

  constructor(options: StripeConnectorOptions) {
    if (options.secretKey.length === 0) throw new ConnectorError('authentication', stripeConnectorName, 'no Stripe secret key configured');
    this.authorization = `Bearer ${options.secretKey}`;
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      maxSockets: options.maxSockets ?? stripeMaxSocketsDefault,
    });
  }

  async authorize(request: AuthorizeRequest): Promise<AttemptResult> {
    const form = toPaymentIntentCreateForm(request);
    return this.exchange({
      method: 'POST',
      path: '/v1/payment_intents',
      headers: { ...this.headers(), 'idempotency-key': request.attemptId },
      body: { kind: 'form', form },
    });
  }

  async retrieve(pspReference: string): Promise<AttemptResult> {
    if (!paymentIntentIdPattern.test(pspReference)) {
      throw new ConnectorError('invalid_request', stripeConnectorName, 'retrieve needs a PaymentIntent id (pi_...)');
    }
    return this.exchange({ method: 'GET', path: `/v1/payment_intents/${pspReference}`, headers: this.headers() });
  }

  /**
   * Stripe's Search API over the metadata every attempt carries (`dirigen_attempt_id`). Stripe
   * documents search as eventually consistent (usually within a minute): an attempt made seconds
   * ago may not show yet, so a miss right after a crash is not proof of no charge against the real
   * Stripe — the failover work replaces this with a PaymentIntent created before it is confirmed.
   */
  async findAttempt(attemptId: string): Promise<AttemptResult | undefined> {
    if (!attemptIdPattern.test(attemptId)) throw new ConnectorError('invalid_request', stripeConnectorName, 'findAttempt needs an attempt id (att_...)');
    const query = new URLSearchParams({ query: `metadata['dirigen_attempt_id']:'${attemptId}'`, limit: '1' });
    try {
      const response = await this.http.send({ method: 'GET', path: `/v1/payment_intents/search?${query}`, headers: this.headers() });
      return stripeSearchResponseToAttemptResult(response);
    } catch (error) {
      if (error instanceof HttpTransportError) return transportErrorToAttemptResult(error);
      throw error;
    }
  }

  /** Releases pooled sockets (tests, shutdown). */
  close(): void {
    this.http.close();
  }

  private async exchange(request: HttpRequest): Promise<AttemptResult> {
    try {
      return stripeResponseToAttemptResult(await this.http.send(request));
    } catch (error) {
      if (error instanceof HttpTransportError) return transportErrorToAttemptResult(error);
      throw error;
    }
  }

  private headers(): Record<string, string> {
    return { authorization: this.authorization, 'stripe-version': stripeApiVersion };
  }
}
