import type { Type } from '@nestjs/common';
import { createLogger } from '@dirigen/observability';
import { createHttpApp } from './http-app';
import type { PlatformConfig } from './platform-config';

/** Starts a service's Nest application and makes a failed start exit non-zero with one clear log line. */
export async function runService(module: Type<unknown>, config: PlatformConfig, bodyLimitBytes?: number): Promise<void> {
  const logger = createLogger(config.service);
  try {
    await createHttpApp(module, { port: config.port, logger, bodyLimitBytes });
    logger.info({ port: config.port, instance: config.instance }, `${config.service} listening`);
  } catch (error) {
    logger.fatal({ err: error }, `${config.service} failed to start`);
    process.exit(1);
  }
}
