import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import './kafkajs-request-queue-fix';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Where kafkajs' own log lines go (structured). */
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra: Record<string, unknown>) => void;
}

/** One Kafka client per process, every option explicit (STYLE.md rule 8). */
export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 10_000, factor: 0.2, multiplier: 2 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const level = entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : entry.level === logLevel.INFO ? 'info' : 'debug';
      (options.log ?? defaultLog)(level, `kafkajs ${entry.namespace}: ${message}`, extra);
    },
  });
}

function defaultLog(level: string, message: string, extra: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level, msg: message, ...extra })}\n`);
}
