import { Module } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { contractValidationPipe, DATA_SOURCE, LOGGER, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import type { Logger } from '@dirigen/observability';
import type { DataSource } from 'typeorm';
import { CallerAuthenticator } from './caller-auth';
import { CvcStore } from './cvc-store';
import { vaultSchema } from './tokenization.migrations';
import { CallerRateLimiter, detokenizeLimitsFromEnvironment } from './caller-rate-limiter';
import { CARD_VAULT, VaultController } from './vault.controller';
import { CardVault } from './card-vault';
import { VaultCrypto } from './vault-crypto';
import { currentKeyVersionTtlMs } from './vault-key-settings';
import { DataKeys } from './keys/data-keys';
import { kekSourcesFromEnvironment, readKeyEncryptionKeys } from './keys/key-encryption-keys';
import { PgKeyStore } from './keys/key-store';

export const config = readPlatformConfig('tokenization', 8082);

/** Security codes live for the authorization that follows tokenization, not longer. */
const cvcTtlMs = 10 * 60_000;
const cvcEntriesMax = 1_000_000;
const dataKeyCacheOptions = { currentVersionTtlMs: currentKeyVersionTtlMs, cachedKeysMax: 100_000, kekReloadIntervalMs: 1_000 };

@Module({
  imports: [PlatformModule.forRoot({ config, schema: vaultSchema, outbox: false })],
  controllers: [VaultController],
  providers: [
    { provide: APP_PIPE, useFactory: contractValidationPipe },
    {
      provide: CARD_VAULT,
      inject: [DATA_SOURCE, LOGGER],
      useFactory: async (dataSource: DataSource, logger: Logger) => {
        const sources = kekSourcesFromEnvironment();
        const keys = new DataKeys(new PgKeyStore(dataSource), () => readKeyEncryptionKeys(sources), dataKeyCacheOptions);
        const ring = await keys.start();
        logger.info({ kekVersions: ring.versions, currentKekVersion: ring.currentVersion }, 'key-encryption keys loaded and verified');
        return new CardVault(
          dataSource,
          new VaultCrypto(keys),
          new CallerAuthenticator(process.env.VAULT_CALLERS ?? ''),
          new CvcStore(cvcTtlMs, cvcEntriesMax),
          new CallerRateLimiter(detokenizeLimitsFromEnvironment()),
          logger,
        );
      },
    },
  ],
})
export class AppModule {}
