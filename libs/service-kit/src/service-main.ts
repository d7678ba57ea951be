import type { Type } from '@nestjs/common';
import { createLogger } from '@dirigen/observability';
import { createHttpApp, type HttpAppOptions } from './http-app';
import type { PlatformConfig } from './platform-config';

export type ServiceOptions = Pick<HttpAppOptions, 'bodyLimitBytes' | 'mapError' | 'connectMicroservices'>;

/** Starts a service's Nest application and makes a failed start exit non-zero with one clear log line. */
export async function runService(module: Type<unknown>, config: PlatformConfig, options: ServiceOptions = {}): Promise<void> {
  const logger = createLogger(config.service);
  try {
    await createHttpApp(module, { port: config.port, logger, ...options });
    logger.info({ port: config.port, instance: config.instance }, `${config.service} listening`);
  } catch (error) {
    logger.fatal({ err: error }, `${config.service} failed to start`);
    process.exit(1);
  }
}
