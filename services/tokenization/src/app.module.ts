import { Module } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { contractValidationPipe, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import { CallerAuthenticator } from './caller-auth';
import { CvcStore } from './cvc-store';
import { vaultSchema } from './tokenization.migrations';
import { CallerRateLimiter, detokenizeLimitsFromEnvironment } from './caller-rate-limiter';
import { CALLER_AUTHENTICATOR, CVC_STORE, DETOKENIZE_LIMITER, VAULT_CRYPTO, VaultController } from './vault.controller';
import { masterKeysFromEnvironment } from './vault-crypto';

export const config = readPlatformConfig('tokenization', 8082);

/** Security codes live for the authorization that follows tokenization, not longer. */
const cvcTtlMs = 10 * 60_000;
const cvcEntriesMax = 1_000_000;

@Module({
  imports: [PlatformModule.forRoot({ config, schema: vaultSchema, outbox: false })],
  controllers: [VaultController],
  providers: [
    { provide: APP_PIPE, useFactory: contractValidationPipe },
    { provide: VAULT_CRYPTO, useFactory: () => masterKeysFromEnvironment() },
    { provide: CALLER_AUTHENTICATOR, useFactory: () => new CallerAuthenticator(process.env.VAULT_CALLERS ?? '') },
    { provide: CVC_STORE, useFactory: () => new CvcStore(cvcTtlMs, cvcEntriesMax) },
    { provide: DETOKENIZE_LIMITER, useFactory: () => new CallerRateLimiter(detokenizeLimitsFromEnvironment()) },
  ],
})
export class AppModule {}
