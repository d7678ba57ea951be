import { Module } from '@nestjs/common';
import { DATA_SOURCE, LOGGER, METRICS, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import type { Logger, ServiceMetrics } from '@dirigen/observability';
import type { DataSource } from 'typeorm';
import { vaultTlsFromEnvironment, type VaultTlsSettings } from '@dirigen/vault-client';
import { CallerAuthenticator } from './caller-auth';
import { vaultSchema } from './tokenization.migrations';
import { CallerRateLimiter, detokenizeLimitsFromEnvironment } from './caller-rate-limiter';
import { CARD_VAULT, VAULT_METRICS, VaultGrpcController } from './vault-grpc.controller';
import { VaultMetrics } from './vault-metrics';
import { CardVault } from './card-vault';
import { VaultCrypto } from './vault-crypto';
import { currentKeyVersionTtlMs } from './vault-key-settings';
import { DataKeys } from './keys/data-keys';
import { kekSourcesFromEnvironment, readKeyEncryptionKeys } from './keys/key-encryption-keys';
import { PgKeyStore } from './keys/key-store';
import { VaultRetentionSweeper } from './vault-retention-sweeper';

export const config = readPlatformConfig('tokenization', 8082);

/** The vault's gRPC API listens here; HTTP (PORT) keeps /health, /health/live and /metrics only. */
export const vaultGrpcPort = grpcPortFromEnvironment(process.env.VAULT_GRPC_PORT, 8083);

function grpcPortFromEnvironment(text: string | undefined, defaultPort: number): number {
  const port = Number(text ?? defaultPort);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`VAULT_GRPC_PORT must be a TCP port, got ${text}`);
  return port;
}

/** How the gRPC API is protected (VAULT_GRPC_TLS_*): read once, for the server's credentials and the caller checks alike. */
export const VAULT_TLS = Symbol('VAULT_TLS');

/** Security codes live for the authorization that follows tokenization (or the hold), not longer: see CardVault. */
const securityCodeTtlMs = 10 * 60_000;
const hourMs = 3_600_000;
/** What the vault destroys when (see VaultRetentionSweeper); a payment's card: `VAULT_PAYMENT_CARD_RETENTION_HOURS`, 7 days by default. */
const retentionOptions = {
  paymentCardRetentionMs: positiveNumber(process.env.VAULT_PAYMENT_CARD_RETENTION_HOURS ?? '168', 'VAULT_PAYMENT_CARD_RETENTION_HOURS') * hourMs,
  holdRetentionMs: 31 * 24 * hourMs,
  intervalMs: 10 * 60_000,
  // An expired security code is unusable at once; this bounds how long its ciphertext outlives its expiry.
  securityCodeIntervalMs: 60_000,
  batchSizeMax: 1_000,
  batchesPerRoundMax: 100,
};

function positiveNumber(text: string, name: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${name} must be a positive number, got ${text}`);
  return value;
}
const dataKeyCacheOptions = { currentVersionTtlMs: currentKeyVersionTtlMs, cachedKeysMax: 100_000, kekReloadIntervalMs: 1_000 };

@Module({
  imports: [PlatformModule.forRoot({ config, schema: vaultSchema, outbox: false })],
  controllers: [VaultGrpcController],
  providers: [
    // A half configuration throws here, so the vault refuses to start with that one error logged.
    { provide: VAULT_TLS, useFactory: (): VaultTlsSettings => vaultTlsFromEnvironment(process.env) },
    {
      provide: CARD_VAULT,
      inject: [DATA_SOURCE, LOGGER, VAULT_TLS],
      useFactory: async (dataSource: DataSource, logger: Logger, tls: VaultTlsSettings) => {
        const sources = kekSourcesFromEnvironment();
        const keys = new DataKeys(new PgKeyStore(dataSource), () => readKeyEncryptionKeys(sources), dataKeyCacheOptions);
        const ring = await keys.start();
        logger.info({ kekVersions: ring.versions, currentKekVersion: ring.currentVersion }, 'key-encryption keys loaded and verified');
        return new CardVault(
          dataSource,
          new VaultCrypto(keys),
          new CallerAuthenticator(process.env.VAULT_CALLERS ?? '', { certificateRequired: tls.kind === 'mutual' }),
          new CallerRateLimiter(detokenizeLimitsFromEnvironment()),
          logger,
          { securityCodeTtlMs },
        );
      },
    },
    { provide: VAULT_METRICS, inject: [METRICS], useFactory: (metrics: ServiceMetrics) => new VaultMetrics(metrics) },
    {
      provide: VaultRetentionSweeper,
      inject: [DATA_SOURCE, LOGGER],
      useFactory: (dataSource: DataSource, logger: Logger) => new VaultRetentionSweeper(dataSource, logger, retentionOptions),
    },
  ],
})
export class AppModule {}
