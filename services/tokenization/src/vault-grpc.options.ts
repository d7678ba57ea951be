import { ServerCredentials } from '@grpc/grpc-js';
import type { GrpcOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';
import { grpcServiceDefinition, vaultV1 } from '@dirigen/contracts';
import { readVaultTlsMaterial, vaultMessageSizeMaxBytes, type VaultTlsSettings } from '@dirigen/vault-client';

/** Calls served at once on one connection; more wait in HTTP/2 flow control instead of piling up in memory. */
export const vaultConcurrentCallsMax = 1_000;
/** Caller name and bearer secret, plus trace context: a few hundred bytes. */
export const vaultMetadataSizeMaxBytes = 8 * 1024;
/** Clients ping only while calls are in flight, every 30 s; closer pings than this are abuse. */
export const vaultPingIntervalMinMs = 10_000;

/**
 * The server's credentials: mutual TLS, where the handshake itself refuses a client without a
 * certificate signed by VAULT_GRPC_TLS_CA (grpc-js sets Node's requestCert and leaves
 * rejectUnauthorized at true); plaintext only when nothing is configured (local development).
 */
export function vaultServerCredentials(tls: VaultTlsSettings): ServerCredentials {
  if (tls.kind === 'plaintext') return ServerCredentials.createInsecure();
  const material = readVaultTlsMaterial(tls);
  const clientCertificateRequired = true;
  return ServerCredentials.createSsl(material.ca, [{ private_key: material.key, cert_chain: material.cert }], clientCertificateRequired);
}

/**
 * The gRPC server of the vault. Messages are (de)serialized by the code generated from
 * proto/dirigen/vault/v1/vault.proto, so no .proto file is read at run time.
 */
export function vaultGrpcOptions(port: number, tls: VaultTlsSettings): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      url: `0.0.0.0:${port}`,
      credentials: vaultServerCredentials(tls),
      package: vaultV1.file_dirigen_vault_v1_vault.proto.package!,
      packageDefinition: { [vaultV1.VaultService.typeName]: grpcServiceDefinition(vaultV1.VaultService) },
      maxReceiveMessageLength: vaultMessageSizeMaxBytes,
      maxSendMessageLength: vaultMessageSizeMaxBytes,
      maxMetadataSize: vaultMetadataSizeMaxBytes,
      keepalive: { keepaliveTimeMs: 60_000, keepaliveTimeoutMs: 10_000, http2MinPingIntervalWithoutDataMs: vaultPingIntervalMinMs, http2MaxPingStrikes: 2 },
      channelOptions: { 'grpc.max_concurrent_streams': vaultConcurrentCallsMax },
      // In-flight calls finish on shutdown (the HTTP app closes alongside).
      gracefulShutdown: true,
    },
  };
}
