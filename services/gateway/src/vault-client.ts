import { HttpClient, HttpTransportError, type CardData } from '@dirigen/connectors';

export type DetokenizeResult = { ok: true; card: CardData } | { ok: false; code: 'token_not_found' | 'cvc_expired'; message: string };

/** Raised when the vault cannot answer now: the gateway retries the event rather than failing the payment. */
export class VaultUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VaultUnavailableError';
  }
}

export interface VaultClientOptions {
  baseUrl: string;
  /** This service's vault credential (VAULT_CALLER_SECRET); the vault only lets the gateway detokenize. */
  callerSecret: string;
  timeoutMs: number;
}

/** Detokenizes over the vault's internal API, authenticated as `gateway`. Card data stays in memory for one call. */
export class VaultClient {
  private readonly http: HttpClient;

  constructor(private readonly options: VaultClientOptions) {
    this.http = new HttpClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, maxSockets: 64 });
  }

  async detokenize(request: { merchantId: string; token: string; paymentId: string; purpose: string }): Promise<DetokenizeResult> {
    let response;
    try {
      response = await this.http.send({
        method: 'POST',
        path: '/internal/v1/detokenize',
        headers: { authorization: `Bearer ${this.options.callerSecret}`, 'x-dirigen-caller': 'gateway' },
        body: { kind: 'json', json: { merchant_id: request.merchantId, token: request.token, purpose: request.purpose, payment_id: request.paymentId } },
      });
    } catch (error) {
      if (error instanceof HttpTransportError) throw new VaultUnavailableError(`vault ${error.failure}`, { cause: error });
      throw error;
    }
    if (response.status === 200) {
      const body = JSON.parse(response.bodyText) as { number: string; exp_month: number; exp_year: number; cvc?: string };
      return { ok: true, card: { number: body.number, expMonth: body.exp_month, expYear: body.exp_year, ...(body.cvc ? { cvc: body.cvc } : {}) } };
    }
    if (response.status === 404) return { ok: false, code: 'token_not_found', message: 'The card token does not exist for this merchant.' };
    if (response.status === 410) return { ok: false, code: 'cvc_expired', message: 'The card security code expired before authorization; the customer must enter it again.' };
    // 401/403 are our misconfiguration, 5xx the vault's trouble: neither is the payment's fault.
    throw new VaultUnavailableError(`vault answered ${response.status}`);
  }

  /** Tells the vault the attempt that needed the card security code is recorded, so it erases the code. */
  async releaseCvc(request: { merchantId: string; token: string }): Promise<void> {
    const response = await this.http.send({
      method: 'POST',
      path: '/internal/v1/cvc-releases',
      headers: { authorization: `Bearer ${this.options.callerSecret}`, 'x-dirigen-caller': 'gateway' },
      body: { kind: 'json', json: { merchant_id: request.merchantId, token: request.token } },
    });
    if (response.status !== 204) throw new VaultUnavailableError(`vault answered ${response.status} to a CVC release`);
  }
}
