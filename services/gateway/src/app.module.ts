import { Module } from '@nestjs/common';
import { createConnector, type PaymentConnector } from '@dirigen/connectors';
import type { AttemptOutcome } from '@dirigen/payments';
import { paymentConsumerProvider, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import { AuthorizationRunner } from './authorization-runner';
import { authorizationHandler } from './authorization.handler';
import { gatewaySchema } from './gateway.migrations';
import { vaultClientFromEnvironment } from '@dirigen/vault-client';

export const config = readPlatformConfig('gateway', 8480);

const AUTHORIZATION_RUNNER = Symbol('AUTHORIZATION_RUNNER');

/** A vault call slower than this fails the event's processing, which is retried: the payment waits, it does not fail. */
const vaultCallTimeoutMs = 5_000;

function configuredConnectors(env: NodeJS.ProcessEnv): Map<string, PaymentConnector> {
  return new Map([
    [
      'stripe',
      createConnector('stripe', {
        baseUrl: env.STRIPE_BASE_URL ?? 'http://127.0.0.1:8090',
        secretKey: env.STRIPE_SECRET_KEY ?? 'sk_test_dirigen_local',
        timeoutMs: Number(env.PSP_TIMEOUT_MS ?? 10_000),
        maxSockets: 128,
      }),
    ],
  ]);
}

@Module({
  imports: [PlatformModule.forRoot({ config, schema: gatewaySchema, vacuumTables: ['payment_states'] })],
  providers: [
    {
      provide: AUTHORIZATION_RUNNER,
      useFactory: () =>
        new AuthorizationRunner(
          configuredConnectors(process.env),
          vaultClientFromEnvironment('gateway', vaultCallTimeoutMs, process.env),
        ),
    },
    paymentConsumerProvider<AttemptOutcome>({
      config,
      groupId: 'gateway',
      schema: gatewaySchema,
      inject: [AUTHORIZATION_RUNNER],
      // PSP calls happen outside the transaction (see authorizationHandler): many partitions at once.
      partitionsConsumedConcurrently: 12,
      define: (runner: AuthorizationRunner) => authorizationHandler(runner),
    }),
  ],
})
export class AppModule {}
