import { randomBytes } from 'node:crypto';
import { Client, credentials, Metadata, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { grpcUnaryMethod, type GrpcUnaryMethodDefinition, vaultV1 } from '@dirigen/contracts';
import type { CardFacts } from '@dirigen/payments';
import { VaultClientError, vaultClientErrorOf, VaultUnavailableError } from './vault-client-error';
import { vaultGrpcTarget, vaultServiceConfig } from './vault-replicas';

/** Who calls the vault; each may do only its own part (the vault's `VAULT_CALLERS`). */
export type VaultCaller = 'intake' | 'gateway' | 'auditor';

export interface VaultClientOptions {
  /** The vault's gRPC address (VAULT_GRPC_ADDRESS): one `host:port`, or the replicas as `ip:port,ip:port` (see `vaultGrpcTarget`). */
  address: string;
  caller: VaultCaller;
  /** This caller's vault credential (VAULT_CALLER_SECRET). */
  callerSecret: string;
  /** Deadline of each call, from when it is made. */
  timeoutMs: number;
  /** Mutual TLS credentials (`vaultChannelCredentials`); insecure without them, for local development only. */
  channelCredentials?: ChannelCredentials;
  /** With TLS: the name every replica's certificate must carry, if not the host of `address` (VAULT_GRPC_TLS_SERVER_NAME; needed with a list of IPs). */
  tlsServerName?: string;
}

/** Raw card data as the vault hands it over: kept in memory for one authorization. */
export interface VaultCard {
  number: string;
  expMonth: number;
  expYear: number;
  cvc?: string;
}

/** `payment`: one payment's card, destroyed after the vault's retention; `saved`: kept until deleted. */
export type CardUse = 'payment' | 'saved';

const cardUseMessage: Record<CardUse, vaultV1.CardUse> = { payment: vaultV1.CardUse.PAYMENT, saved: vaultV1.CardUse.SAVED };

export type DetokenizeResult = { ok: true; card: VaultCard } | { ok: false; code: 'token_not_found' | 'cvc_expired'; message: string };

export interface VaultAuditEntry {
  caller: string;
  merchantId: string;
  token: string;
  purpose: string;
  paymentId: string | null;
  outcome: string;
  at: Date;
}

/** Card data and audit pages are small; anything larger is a bug or an attack. */
export const vaultMessageSizeMaxBytes = 256 * 1024;
/** Ping an idle-looking connection with calls in flight this often, and drop it when a ping goes unanswered this long. */
export const vaultKeepaliveTimeMs = 30_000;
export const vaultKeepaliveTimeoutMs = 10_000;
/** Reconnect quickly after a vault restart: a payment waits on it. */
export const vaultReconnectBackoffMaxMs = 2_000;

const { VaultService } = vaultV1;
const methods = {
  tokenize: grpcUnaryMethod<typeof vaultV1.TokenizeRequestSchema, typeof vaultV1.TokenizeResponseSchema>(VaultService, 'Tokenize'),
  lookupToken: grpcUnaryMethod<typeof vaultV1.LookupTokenRequestSchema, typeof vaultV1.LookupTokenResponseSchema>(VaultService, 'LookupToken'),
  deleteToken: grpcUnaryMethod<typeof vaultV1.DeleteTokenRequestSchema, typeof vaultV1.DeleteTokenResponseSchema>(VaultService, 'DeleteToken'),
  detokenize: grpcUnaryMethod<typeof vaultV1.DetokenizeRequestSchema, typeof vaultV1.DetokenizeResponseSchema>(VaultService, 'Detokenize'),
  holdSecurityCode: grpcUnaryMethod<typeof vaultV1.HoldSecurityCodeRequestSchema, typeof vaultV1.HoldSecurityCodeResponseSchema>(VaultService, 'HoldSecurityCode'),
  releaseSecurityCode: grpcUnaryMethod<typeof vaultV1.ReleaseSecurityCodeRequestSchema, typeof vaultV1.ReleaseSecurityCodeResponseSchema>(VaultService, 'ReleaseSecurityCode'),
  detokenizeBatch: grpcUnaryMethod<typeof vaultV1.DetokenizeBatchRequestSchema, typeof vaultV1.DetokenizeBatchResponseSchema>(VaultService, 'DetokenizeBatch'),
  releaseSecurityCodes: grpcUnaryMethod<typeof vaultV1.ReleaseSecurityCodesRequestSchema, typeof vaultV1.ReleaseSecurityCodesResponseSchema>(VaultService, 'ReleaseSecurityCodes'),
  queryAudit: grpcUnaryMethod<typeof vaultV1.QueryAuditRequestSchema, typeof vaultV1.QueryAuditResponseSchema>(VaultService, 'QueryAudit'),
};

/** Most requests one batch call (DetokenizeBatch, ReleaseSecurityCodes) carries: the vault refuses more. */
export const vaultBatchRequestsMax = 256;

export interface DetokenizeRequest {
  merchantId: string;
  token: string;
  paymentId: string;
  purpose: string;
}

function cardOf(card: vaultV1.Card): { number: string; expMonth: number; expYear: number; cvc?: string } {
  return { number: card.number, expMonth: card.expMonth, expYear: card.expYear, ...(card.cvc !== undefined ? { cvc: card.cvc } : {}) };
}

/** A refusal that is the payment's outcome (its card cannot be had), not a fault of the call. */
function cardRefusalOf(code: string): DetokenizeResult | undefined {
  if (code === 'token_not_found') return { ok: false, code: 'token_not_found', message: 'The card token does not exist for this merchant.' };
  if (code === 'cvc_expired') return { ok: false, code: 'cvc_expired', message: 'The card security code expired before authorization; the customer must enter it again.' };
  return undefined;
}

/**
 * The one client of the vault's gRPC API (proto/dirigen/vault/v1/vault.proto), for every caller.
 * One HTTP/2 connection per vault replica multiplexes all calls, spread round robin; every call has
 * a deadline and carries the caller's credential, and an idempotent one is retried once on another
 * replica when the first fails UNAVAILABLE. Failures surface as `VaultClientError` (the request's
 * fault) or `VaultUnavailableError`.
 */
export class VaultClient {
  private readonly client: Client;
  private readonly credential: Metadata;

  constructor(private readonly options: VaultClientOptions) {
    if (!(options.timeoutMs > 0)) throw new Error('invariant: the vault client needs a positive timeoutMs');
    const channelOptions: ChannelOptions = {
      'grpc.max_send_message_length': vaultMessageSizeMaxBytes,
      'grpc.max_receive_message_length': vaultMessageSizeMaxBytes,
      'grpc.keepalive_time_ms': vaultKeepaliveTimeMs,
      'grpc.keepalive_timeout_ms': vaultKeepaliveTimeoutMs,
      // Idle connections are not pinged: the vault would count pings without calls as abuse.
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': vaultReconnectBackoffMaxMs,
      // Round robin over the replicas, and one retry of an idempotent call that failed UNAVAILABLE (see vaultServiceConfig).
      'grpc.enable_retries': 1,
      'grpc.service_config': vaultServiceConfig(),
      'grpc.service_config_disable_resolution': 1,
      ...(options.tlsServerName ? { 'grpc.ssl_target_name_override': options.tlsServerName } : {}),
    };
    this.client = new Client(vaultGrpcTarget(options.address), options.channelCredentials ?? credentials.createInsecure(), channelOptions);
    this.credential = new Metadata();
    this.credential.set('x-dirigen-caller', options.caller);
    this.credential.set('authorization', `Bearer ${options.callerSecret}`);
  }

  /**
   * Stores a card for one payment or as a saved card (`use`: how long the vault keeps it); answers
   * its token and the facts that may leave the vault. Card refusals are `VaultClientError('invalid_card')`.
   * `requestId` (≤ 64 characters) makes a retry answer the first token instead of storing the card again.
   * Without one the client makes one up for this call, so that its own retry on another replica (after
   * the first replica died, perhaps having stored the card) stores the card once all the same.
   */
  async tokenize(merchantId: string, card: { number: string; expMonth: number; expYear: number; cvc: string }, use: CardUse, requestId?: string): Promise<CardFacts> {
    const request = { merchantId, card: { number: card.number, expMonth: card.expMonth, expYear: card.expYear, cvc: card.cvc }, use: cardUseMessage[use], requestId: requestId ?? oneCallRequestId() };
    const response = await this.call(methods.tokenize, request);
    return cardFactsOf(response.cardFacts);
  }

  /** The facts of a merchant's saved card token; undefined when the merchant has no such token. */
  async lookup(merchantId: string, token: string): Promise<CardFacts | undefined> {
    try {
      return cardFactsOf((await this.call(methods.lookupToken, { merchantId, token })).cardFacts);
    } catch (error) {
      if (error instanceof VaultClientError && error.code === 'token_not_found') return undefined;
      throw error;
    }
  }

  /** Destroys a merchant's token; false when the merchant has no such token. */
  async deleteToken(merchantId: string, token: string): Promise<boolean> {
    try {
      await this.call(methods.deleteToken, { merchantId, token });
      return true;
    } catch (error) {
      if (error instanceof VaultClientError && error.code === 'token_not_found') return false;
      throw error;
    }
  }

  /** The card of a token for one payment. A missing token or a lost security code is the payment's outcome; anything else throws. */
  async detokenize(request: DetokenizeRequest): Promise<DetokenizeResult> {
    try {
      const { card } = await this.call(methods.detokenize, request);
      if (!card) throw new VaultUnavailableError('unexpected_answer', 'vault Detokenize: the answer has no card');
      return { ok: true, card: cardOf(card) };
    } catch (error) {
      if (!(error instanceof VaultClientError) || error instanceof VaultUnavailableError) throw error;
      const refusal = cardRefusalOf(error.code);
      if (refusal) return refusal;
      // Any other refusal of a well-formed request is our bug, not the payment's fault: retry, and be seen.
      throw new VaultUnavailableError(error.code, error.message, error.grpcStatus, { cause: error });
    }
  }

  /**
   * `detokenize` for several payments in one call (at most `vaultBatchRequestsMax`): the answers in
   * the same order, each the card or that card's refusal; a refusal of the call throws, as `detokenize` does.
   */
  async detokenizeBatch(requests: readonly DetokenizeRequest[]): Promise<DetokenizeResult[]> {
    if (requests.length === 0) return [];
    try {
      const { results } = await this.call(methods.detokenizeBatch, { requests: [...requests] });
      if (results.length !== requests.length) throw new VaultUnavailableError('unexpected_answer', `vault DetokenizeBatch: ${results.length} answers to ${requests.length} requests`);
      return results.map(({ result }): DetokenizeResult => {
        if (result.case === 'card') return { ok: true, card: cardOf(result.value) };
        const refusal = result.case === 'refusal' ? cardRefusalOf(result.value.code) : undefined;
        if (!refusal) throw new VaultUnavailableError('unexpected_answer', 'vault DetokenizeBatch: an answer is neither a card nor a known refusal');
        return refusal;
      });
    } catch (error) {
      if (!(error instanceof VaultClientError) || error instanceof VaultUnavailableError) throw error;
      throw new VaultUnavailableError(error.code, error.message, error.grpcStatus, { cause: error });
    }
  }

  /** `releaseCvc` for several payments in one call (at most `vaultBatchRequestsMax`). */
  async releaseSecurityCodes(requests: readonly { merchantId: string; token: string; paymentId?: string }[]): Promise<void> {
    if (requests.length === 0) return;
    await this.call(methods.releaseSecurityCodes, { requests: requests.map((request) => ({ merchantId: request.merchantId, token: request.token, paymentId: request.paymentId ?? '' })) });
  }

  /** Has the vault hold a security code (encrypted, until released or expired) for one payment with a saved card. */
  async holdSecurityCode(request: { merchantId: string; token: string; paymentId: string; cvc: string }): Promise<void> {
    await this.call(methods.holdSecurityCode, request);
  }

  /** Tells the vault the attempt that needed the security code is recorded, so it erases the code (the payment's, and the one given at saving). */
  async releaseCvc(request: { merchantId: string; token: string; paymentId?: string }): Promise<void> {
    await this.call(methods.releaseSecurityCode, { merchantId: request.merchantId, token: request.token, paymentId: request.paymentId ?? '' });
  }

  /** The detokenize audit trail, newest first (auditor only). */
  async queryAudit(query: { token?: string; paymentId?: string; limit?: number }): Promise<VaultAuditEntry[]> {
    const { entries } = await this.call(methods.queryAudit, { token: query.token ?? '', paymentId: query.paymentId ?? '', limit: query.limit ?? 0 });
    return entries.map((entry) => ({
      caller: entry.caller,
      merchantId: entry.merchantId,
      token: entry.token,
      purpose: entry.purpose,
      paymentId: entry.paymentId || null,
      outcome: entry.outcome,
      at: entry.at ? timestampDate(entry.at) : new Date(0),
    }));
  }

  close(): void {
    this.client.close();
  }

  private call<Input extends DescMessage, Output extends DescMessage>(method: GrpcUnaryMethodDefinition<Input, Output>, request: MessageInitShape<Input>): Promise<MessageShape<Output>> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.credential.clone(),
        { deadline: Date.now() + this.options.timeoutMs },
        (error: ServiceError | null, response?: MessageShape<Output>) => {
          if (error) reject(vaultClientErrorOf(error, method.originalName));
          else if (!response) reject(new VaultUnavailableError('unexpected_answer', `vault ${method.originalName}: empty answer`));
          else resolve(response);
        },
      );
    });
  }
}

/** 256 random bits, base64url (43 characters, as a keyed request id): no other call shares it. */
function oneCallRequestId(): string {
  return randomBytes(32).toString('base64url');
}

function cardFactsOf(facts: vaultV1.CardFacts | undefined): CardFacts {
  if (!facts) throw new VaultUnavailableError('unexpected_answer', 'vault: the answer has no card facts');
  return { token: facts.token, brand: facts.brand, last4: facts.last4, bin: facts.bin, expMonth: facts.expMonth, expYear: facts.expYear, fingerprint: facts.fingerprint };
}
