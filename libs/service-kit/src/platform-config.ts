/** Settings every service reads from the environment, with the defaults of the local platform. */
export interface PlatformConfig {
  service: string;
  /** Instance name, unique per replica (logs, Kafka client id). */
  instance: string;
  port: number;
  kafkaBrokers: string[];
  databaseUrl: string;
}

export function readPlatformConfig(service: string, defaultPort: number, env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const port = Number(env.PORT ?? defaultPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  return {
    service,
    instance: env.DIRIGEN_INSTANCE ?? `${service}-${process.pid}`,
    port,
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((broker) => broker.trim()).filter(Boolean),
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/dirigen',
  };
}
