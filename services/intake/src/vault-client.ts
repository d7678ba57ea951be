import { HttpClient, HttpTransportError } from '@dirigen/connectors';
import type { CardFacts } from '@dirigen/payments';
import { ApiError } from '@dirigen/service-kit';

export interface VaultClientOptions {
  baseUrl: string;
  /** Intake's vault credential (VAULT_CALLER_SECRET): the vault lets intake tokenize, nothing else. */
  callerSecret: string;
  timeoutMs: number;
}

/** Hands card data to the vault and gets back a token plus the card facts that may be stored. */
export class VaultClient {
  private readonly http: HttpClient;

  constructor(private readonly options: VaultClientOptions) {
    this.http = new HttpClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, maxSockets: 128 });
  }

  /** The facts of a merchant's saved card token; undefined when the merchant has no such token. */
  async lookup(merchantId: string, token: string): Promise<CardFacts | undefined> {
    const response = await this.call('/internal/v1/token-lookups', { merchant_id: merchantId, token });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw vaultUnavailable();
    return cardFactsOf(JSON.parse(response.bodyText) as Record<string, unknown>);
  }

  /** Destroys a merchant's token; false when the merchant has no such token. */
  async deleteToken(merchantId: string, token: string): Promise<boolean> {
    const response = await this.call('/internal/v1/token-deletions', { merchant_id: merchantId, token });
    if (response.status === 404) return false;
    if (response.status !== 204) throw vaultUnavailable();
    return true;
  }

  private async call(path: string, json: unknown) {
    try {
      return await this.http.send({
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${this.options.callerSecret}`, 'x-dirigen-caller': 'intake' },
        body: { kind: 'json', json },
      });
    } catch (error) {
      if (error instanceof HttpTransportError) throw vaultUnavailable();
      throw error;
    }
  }

  async tokenize(merchantId: string, card: { number: string; expMonth: number; expYear: number; cvc: string }): Promise<CardFacts> {
    const response = await this.call('/internal/v1/tokens', { merchant_id: merchantId, card: { number: card.number, exp_month: card.expMonth, exp_year: card.expYear, cvc: card.cvc } });
    const body = JSON.parse(response.bodyText) as Record<string, unknown>;
    if (response.status === 201) return cardFactsOf(body);
    const error = (body.error ?? {}) as { type?: string; code?: string; message?: string; param?: string };
    if (response.status === 402 && error.type === 'card_error') {
      throw new ApiError(402, 'card_error', error.code ?? 'invalid_card', error.message ?? 'The card is invalid.', `payment_method.${error.param ?? 'card'}`);
    }
    throw vaultUnavailable();
  }
}

function vaultUnavailable(): ApiError {
  return new ApiError(503, 'api_error', 'vault_unavailable', 'Card tokenization is unavailable; retry with the same Idempotency-Key.');
}

function cardFactsOf(body: Record<string, unknown>): CardFacts {
  return {
    token: String(body.token),
    brand: String(body.brand),
    last4: String(body.last4),
    bin: String(body.bin),
    expMonth: Number(body.exp_month),
    expYear: Number(body.exp_year),
    fingerprint: String(body.fingerprint),
  };
}
