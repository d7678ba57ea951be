import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChannelCredentials, Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { grpcUnaryMethod, vaultV1 } from '@dirigen/contracts';
import { VaultClient, vaultGrpcTarget, type VaultCaller } from '@dirigen/vault-client';
import { afterAll } from 'vitest';
import { platform } from './api';

const secrets = JSON.parse(readFileSync(join(platform.dataDir, 'secrets.json'), 'utf8')) as { vaultCallers: Record<string, string> };

/** A caller's real vault secret, as the platform launcher generated it. */
export function vaultSecretOf(caller: VaultCaller): string {
  return secrets.vaultCallers[caller]!;
}
/** The vault's local certificate names 127.0.0.1 and localhost; the name, not the IP, is what TLS may send (SNI). */
const vaultTlsServerName = 'localhost';
const clients: { close(): void }[] = [];
afterAll(() => clients.forEach((client) => client.close()));

/** Mutual TLS as `caller`: its own certificate and key (from the launcher's local CA), trusting that CA for the vault. */
export function channelAs(caller: VaultCaller): ChannelCredentials {
  const own = platform.vaultTls.callers[caller]!;
  return credentials.createSsl(readFileSync(platform.vaultTls.ca), readFileSync(own.key), readFileSync(own.cert), { rejectUnauthorized: true });
}

/** The shared vault client (every replica, as the platform's callers use it), as `caller` with its real secret (or the given wrong one), over the certificate of `certificateOf` (its own by default). */
export function vaultAs(caller: VaultCaller, secret = secrets.vaultCallers[caller]!, certificateOf: VaultCaller = caller): VaultClient {
  const client = new VaultClient({ address: platform.vaultGrpcAddress, caller, callerSecret: secret, timeoutMs: 10_000, channelCredentials: channelAs(certificateOf), tlsServerName: vaultTlsServerName });
  clients.push(client);
  return client;
}

export interface RawAnswer {
  /** gRPC status code; 0 is OK. */
  code: number;
  details: string;
  trailers: Record<string, unknown>;
  response?: unknown;
}

/**
 * A raw gRPC call with exactly the metadata given (none: an intruder without any caller credential),
 * over `channel`: the gateway's certificate unless told otherwise (plaintext, a foreign CA's …).
 */
export function rawVaultCall(method: string, request: Record<string, unknown>, metadata: Record<string, string> = {}, channel: ChannelCredentials = channelAs('gateway')): Promise<RawAnswer> {
  // Every replica's address; without a service config grpc-js picks the first that answers.
  const client = new Client(vaultGrpcTarget(platform.vaultGrpcAddress), channel, { 'grpc.ssl_target_name_override': vaultTlsServerName });
  const definition = grpcUnaryMethod(vaultV1.VaultService, method);
  const sent = new Metadata();
  for (const [key, value] of Object.entries(metadata)) sent.set(key, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, request, sent, { deadline: Date.now() + 10_000 }, (error: ServiceError | null, response?: unknown) => {
      client.close();
      if (error) resolve({ code: error.code, details: error.details, trailers: error.metadata.getMap() });
      else resolve({ code: 0, details: '', trailers: {}, response });
    });
  });
}
