import { Controller, Get, Header, Inject, Module, Res, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createKafka, EventProducer, OutboxRelay } from '@dirigen/messaging';
import { killAfterPublishDrill } from './fault-drill';
import { createLogger, ServiceMetrics, stopTracing, type Logger } from '@dirigen/observability';
import { createServiceDataSource, PgOutboxStore } from '@dirigen/persistence';
import type { FastifyReply } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { PlatformConfig } from './platform-config';

export const PLATFORM_CONFIG = Symbol('PLATFORM_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const METRICS = Symbol('METRICS');
export const KAFKA = Symbol('KAFKA');
export const EVENT_PRODUCER = Symbol('EVENT_PRODUCER');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const OUTBOX_RELAY = Symbol('OUTBOX_RELAY');

export interface PlatformModuleOptions {
  config: PlatformConfig;
  /** The service's PostgreSQL schema; omit for a service without a database. */
  schema?: string;
  /** Whether the schema has an outbox to relay (every event-producing service); default true. */
  outbox?: boolean;
  poolSizeMax?: number;
  /** Tables of the schema whose rows churn (updated per event), vacuumed with the outbox by the relay's leader. */
  vacuumTables?: string[];
}

const healthCheckTimeoutMs = 2_000;

/** Connects the process's shared resources at start and closes them in order at shutdown. */
class PlatformLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(EVENT_PRODUCER) private readonly producer: EventProducer,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource | null,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
    this.relay?.start();
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'shutting down');
    await this.relay?.stop();
    await this.producer.disconnect().catch(() => undefined);
    if (this.dataSource?.isInitialized) await this.dataSource.destroy();
    await stopTracing();
  }
}

@Controller()
class OperationsController {
  constructor(
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource | null,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
  ) {}

  /** Liveness: the process answers. */
  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Kafka and PostgreSQL answer within the timeout. 503 otherwise. */
  @Get('health')
  async health(@Res() reply: FastifyReply): Promise<void> {
    const checks: Record<string, string> = {};
    checks.kafka = await probe(async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        await admin.describeCluster();
      } finally {
        await admin.disconnect();
      }
    });
    if (this.dataSource) checks.postgres = await probe(() => this.dataSource!.query('SELECT 1'));
    const healthy = Object.values(checks).every((state) => state === 'up');
    await reply.status(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unavailable', service: this.config.service, instance: this.config.instance, checks });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

async function probe(check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), healthCheckTimeoutMs);
      }),
    ]);
    return 'up';
  } catch (error) {
    return `down: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** The resources every Dirigen service process shares, wired in one place. */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformModuleOptions): DynamicModule {
    const { config } = options;
    const logger = createLogger(config.service);
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: config.instance,
      log: (level, message, extra) => logger[level](extra, message),
    });
    const producer = new EventProducer(kafka);
    return {
      module: PlatformModule,
      global: true,
      controllers: [OperationsController],
      providers: [
        { provide: PLATFORM_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new ServiceMetrics(config.service) },
        { provide: KAFKA, useValue: kafka },
        { provide: EVENT_PRODUCER, useValue: producer },
        {
          provide: DATA_SOURCE,
          useFactory: async () => {
            if (!options.schema) return null;
            const dataSource = createServiceDataSource({
              url: config.databaseUrl,
              schema: options.schema,
              applicationName: config.instance,
              poolSizeMax: options.poolSizeMax,
            });
            await dataSource.initialize();
            // Its own role confines a service to its schema; a superuser reads every one, the vault's included.
            const [role] = (await dataSource.query('SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user')) as { name: string; superuser: boolean }[];
            if (role?.superuser) logger.warn({ role: role.name }, 'connected to PostgreSQL as a superuser: give this service its own role (README, Database roles)');
            return dataSource;
          },
        },
        {
          provide: OUTBOX_RELAY,
          inject: [DATA_SOURCE],
          useFactory: (dataSource: DataSource | null) =>
            dataSource && options.schema && options.outbox !== false
              ? new OutboxRelay(new PgOutboxStore(dataSource, options.schema, options.vacuumTables), producer, {
                  log: (level, message, extra) => logger[level](extra ?? {}, message),
                  afterDirectPublish: killAfterPublishDrill(config.service, process.env.DIRIGEN_FAULT_DRILL_FILE, logger),
                })
              : null,
        },
        PlatformLifecycle,
      ],
      exports: [PLATFORM_CONFIG, LOGGER, METRICS, KAFKA, EVENT_PRODUCER, DATA_SOURCE, OUTBOX_RELAY],
    };
  }
}
