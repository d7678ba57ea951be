import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { status, type Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { vaultV1 } from '@dirigen/contracts';
import type { Logger } from '@dirigen/observability';
import { LOGGER } from '@dirigen/service-kit';
import { callerNameOfCertificate, type CallerCredential } from './caller-auth';
import type { CardFactsOfToken, CardVault } from './card-vault';
import { VaultError } from './vault-error';
import { rpcExceptionOf } from './vault-grpc-status';
import {
  DetokenizeRules,
  HoldSecurityCodeRules,
  QueryAuditRules,
  ReleaseSecurityCodeRules,
  TokenizeRules,
  TokenRefRules,
  validated,
  validatedBatch,
} from './vault-grpc.requests';
import type { VaultMetrics } from './vault-metrics';

export const CARD_VAULT = Symbol('CARD_VAULT');
export const VAULT_METRICS = Symbol('VAULT_METRICS');

/**
 * The vault's gRPC API (proto/dirigen/vault/v1/vault.proto), its only way in: reads the caller's
 * credential from metadata and its TLS client certificate, checks each request against explicit limits, calls the vault, and maps
 * its refusals to gRPC statuses. Nothing here touches card data beyond passing it through.
 */
@Controller()
export class VaultGrpcController {
  constructor(
    @Inject(CARD_VAULT) private readonly vault: CardVault,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(VAULT_METRICS) private readonly metrics: VaultMetrics,
  ) {}

  @GrpcMethod('VaultService', 'Tokenize')
  tokenize(request: vaultV1.TokenizeRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.TokenizeResponseSchema>> {
    return this.serve('Tokenize', async () => {
      const { merchantId, card, use, requestId } = validated(TokenizeRules, request);
      const facts = await this.vault.tokenize(credentialOf(metadata, call), merchantId, card, use === 2 ? 'saved' : 'payment', requestId || undefined);
      return { cardFacts: cardFactsMessage(facts) };
    });
  }

  @GrpcMethod('VaultService', 'LookupToken')
  lookupToken(request: vaultV1.LookupTokenRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.LookupTokenResponseSchema>> {
    return this.serve('LookupToken', async () => {
      const { merchantId, token } = validated(TokenRefRules, request);
      return { cardFacts: cardFactsMessage(await this.vault.lookup(credentialOf(metadata, call), merchantId, token)) };
    });
  }

  @GrpcMethod('VaultService', 'DeleteToken')
  deleteToken(request: vaultV1.DeleteTokenRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.DeleteTokenResponseSchema>> {
    return this.serve('DeleteToken', async () => {
      const { merchantId, token } = validated(TokenRefRules, request);
      await this.vault.deleteToken(credentialOf(metadata, call), merchantId, token);
      return {};
    });
  }

  @GrpcMethod('VaultService', 'Detokenize')
  detokenize(request: vaultV1.DetokenizeRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.DetokenizeResponseSchema>> {
    return this.serve('Detokenize', async () => {
      const { merchantId, token, purpose, paymentId } = validated(DetokenizeRules, request);
      const card = await this.vault.detokenize(credentialOf(metadata, call), { merchantId, token, purpose, ...(paymentId ? { paymentId } : {}) });
      return { card: cardMessage(card) };
    });
  }

  @GrpcMethod('VaultService', 'DetokenizeBatch')
  detokenizeBatch(request: vaultV1.DetokenizeBatchRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.DetokenizeBatchResponseSchema>> {
    return this.serve('DetokenizeBatch', async () => {
      const requests = validatedBatch(DetokenizeRules, request.requests);
      const credential = credentialOf(metadata, call);
      // Concurrently: the vault's records batch the overlapping reads and audit rows into multi-row statements.
      const answers = await Promise.allSettled(requests.map(({ merchantId, token, purpose, paymentId }) => this.vault.detokenize(credential, { merchantId, token, purpose, ...(paymentId ? { paymentId } : {}) })));
      return {
        results: answers.map((answer): MessageInitShape<typeof vaultV1.DetokenizeResultSchema> => {
          if (answer.status === 'fulfilled') return { result: { case: 'card', value: cardMessage(answer.value) } };
          // A refusal of this card is its entry's answer; anything else fails the call, as a single Detokenize would.
          if (answer.reason instanceof VaultError && cardRefusalCodes.has(answer.reason.code)) {
            return { result: { case: 'refusal', value: { code: answer.reason.code, message: answer.reason.message } } };
          }
          throw answer.reason;
        }),
      };
    });
  }

  @GrpcMethod('VaultService', 'ReleaseSecurityCodes')
  releaseSecurityCodes(request: vaultV1.ReleaseSecurityCodesRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.ReleaseSecurityCodesResponseSchema>> {
    return this.serve('ReleaseSecurityCodes', async () => {
      const requests = validatedBatch(ReleaseSecurityCodeRules, request.requests);
      const credential = credentialOf(metadata, call);
      await Promise.all(requests.map(({ merchantId, token, paymentId }) => this.vault.releaseCvc(credential, merchantId, token, paymentId || undefined)));
      return {};
    });
  }

  @GrpcMethod('VaultService', 'HoldSecurityCode')
  holdSecurityCode(request: vaultV1.HoldSecurityCodeRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.HoldSecurityCodeResponseSchema>> {
    return this.serve('HoldSecurityCode', async () => {
      const { merchantId, token, paymentId, cvc } = validated(HoldSecurityCodeRules, request);
      await this.vault.holdSecurityCode(credentialOf(metadata, call), { merchantId, token, paymentId, cvc });
      return {};
    });
  }

  @GrpcMethod('VaultService', 'ReleaseSecurityCode')
  releaseSecurityCode(request: vaultV1.ReleaseSecurityCodeRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.ReleaseSecurityCodeResponseSchema>> {
    return this.serve('ReleaseSecurityCode', async () => {
      const { merchantId, token, paymentId } = validated(ReleaseSecurityCodeRules, request);
      await this.vault.releaseCvc(credentialOf(metadata, call), merchantId, token, paymentId || undefined);
      return {};
    });
  }

  @GrpcMethod('VaultService', 'QueryAudit')
  queryAudit(request: vaultV1.QueryAuditRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Promise<MessageInitShape<typeof vaultV1.QueryAuditResponseSchema>> {
    return this.serve('QueryAudit', async () => {
      const query = validated(QueryAuditRules, request);
      const entries = await this.vault.queryAudit(credentialOf(metadata, call), {
        ...(query.token ? { token: query.token } : {}),
        ...(query.paymentId ? { paymentId: query.paymentId } : {}),
        ...(query.limit > 0 ? { limit: query.limit } : {}),
      });
      return {
        entries: entries.map((entry) => ({
          caller: entry.caller, merchantId: entry.merchantId, token: entry.token, purpose: entry.purpose, paymentId: entry.paymentId ?? '', outcome: entry.outcome, at: timestampFromDate(entry.at),
        })),
      };
    });
  }

  /** Vault refusals become their gRPC status; anything else is our bug: logged, and INTERNAL without detail. */
  private async serve<Answer>(method: string, handle: () => Promise<Answer>): Promise<Answer> {
    const stopTimer = this.metrics.callSeconds.startTimer({ method });
    let outcome = 'ok';
    try {
      return await handle();
    } catch (error) {
      if (error instanceof VaultError) {
        outcome = error.code;
        throw rpcExceptionOf(error);
      }
      outcome = 'internal_error';
      this.logger.error({ err: error, method }, 'vault call failed');
      throw new RpcException({ code: status.INTERNAL, message: 'The vault failed to serve the call.' });
    } finally {
      stopTimer();
      this.metrics.calls.inc({ method, outcome });
    }
  }
}

/** Refusals that concern one card of a batch (its entry's answer), not the call. */
const cardRefusalCodes: ReadonlySet<string> = new Set(['token_not_found', 'cvc_expired']);

/**
 * The caller as the metadata names it and as its TLS client certificate names it. grpc-js's
 * `getAuthContext()` carries the peer certificate only for a handshake that verified it against
 * our CA (`socket.authorized`); `getPeer()` would give an address, which proves nothing.
 */
function credentialOf(metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): CallerCredential {
  const name = firstString(metadata, 'x-dirigen-caller');
  const authorization = firstString(metadata, 'authorization');
  const certificate = call.getAuthContext().sslPeerCertificate;
  return {
    name,
    secret: authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined,
    certificateName: certificate ? callerNameOfCertificate(certificate.subject) : undefined,
  };
}

function firstString(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}

function cardMessage(card: { number: string; expMonth: number; expYear: number; cvc?: string }): MessageInitShape<typeof vaultV1.CardSchema> {
  return { number: card.number, expMonth: card.expMonth, expYear: card.expYear, ...(card.cvc !== undefined ? { cvc: card.cvc } : {}) };
}

function cardFactsMessage(facts: CardFactsOfToken): MessageInitShape<typeof vaultV1.CardFactsSchema> {
  return {
    token: facts.token, brand: facts.brand, last4: facts.last4, bin: facts.bin, expMonth: facts.expMonth, expYear: facts.expYear, fingerprint: facts.fingerprint,
    ...(facts.createdAt ? { createdAt: timestampFromDate(facts.createdAt) } : {}),
  };
}
