import { Inject, Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import type { EventProducer } from '@dirigen/messaging';
import type { Logger, ServiceMetrics } from '@dirigen/observability';
import {
  contractValidationPipe,
  DATA_SOURCE,
  EVENT_PRODUCER,
  KAFKA,
  LOGGER,
  METRICS,
  PaymentConsumerLifecycle,
  PLATFORM_CONFIG,
  PlatformModule,
  readPlatformConfig,
  type PlatformConfig,
} from '@dirigen/service-kit';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { ApiKeyGuard } from './api-key.guard';
import { intakeSchema } from './intake.migrations';
import { PaymentIntake, REQUEST_HASH_SECRET, VAULT_CLIENT } from './payment-intake';
import { PaymentWaiter } from './payment-waiter';
import { PaymentsController } from './payments.controller';
import { TokenIntake } from './token-intake';
import { TokensController } from './tokens.controller';
import { PaymentsProjection } from './payments.projection';
import { projectionConsumer, PaymentsReadModel } from './payments.read-model';
import { vaultClientFromEnvironment } from '@dirigen/vault-client';

export const config = readPlatformConfig('intake', 8080);

/** How long a merchant's request waits on one vault call before answering 503 `vault_unavailable`. */
const vaultCallTimeoutMs = 5_000;

/** The largest request body the merchant API reads. */
export const bodyLimitBytes = 32 * 1024;

/** Starts listening for payment updates before the first request, stops after the last. */
class WaiterLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(PaymentWaiter) private readonly waiter: PaymentWaiter) {}

  onApplicationBootstrap(): Promise<void> {
    return this.waiter.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.waiter.stop();
  }
}

function requiredSecret(name: string): Buffer {
  const value = process.env[name];
  if (!value || value.length < 16) throw new Error(`${name} must be set (16+ characters); the platform launcher generates one`);
  return Buffer.from(value, 'utf8');
}

@Module({
  imports: [PlatformModule.forRoot({ config, schema: intakeSchema, poolSizeMax: 20, vacuumTables: ['payments'] })],
  controllers: [PaymentsController, TokensController],
  providers: [
    { provide: APP_PIPE, useFactory: contractValidationPipe },
    ApiKeyGuard,
    PaymentsReadModel,
    PaymentIntake,
    TokenIntake,
    { provide: REQUEST_HASH_SECRET, useFactory: () => requiredSecret('INTAKE_REQUEST_HASH_SECRET') },
    {
      provide: VAULT_CLIENT,
      useFactory: () => vaultClientFromEnvironment('intake', vaultCallTimeoutMs, process.env),
    },
    {
      provide: PaymentWaiter,
      inject: [PLATFORM_CONFIG, LOGGER],
      useFactory: (platform: PlatformConfig, logger: Logger) => new PaymentWaiter(platform.databaseUrl, logger),
    },
    WaiterLifecycle,
    {
      provide: PaymentConsumerLifecycle,
      inject: [KAFKA, EVENT_PRODUCER, LOGGER, DATA_SOURCE, METRICS, PaymentsReadModel],
      useFactory: (kafka: Kafka, producer: EventProducer, logger: Logger, dataSource: DataSource, metrics: ServiceMetrics, readModel: PaymentsReadModel) =>
        new PaymentConsumerLifecycle({ kafka, producer, logger, groupId: projectionConsumer, processor: new PaymentsProjection(dataSource, readModel, metrics) }),
    },
  ],
})
export class AppModule {}
