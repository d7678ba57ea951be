export * from './topics';
export * from './kafka-client';
export * from './trace-headers';
export * from './event-producer';
export * from './batch-consumer';
export * from './outbox-relay';
export * from './chunk-coalescer';
