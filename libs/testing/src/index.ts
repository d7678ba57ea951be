// Shared set-up of the services' integration tests (*.int.spec.ts): never imported by production code.
export * from './payment-processor-int-env';
export * from './payment-event-builders';
export * from './psp-simulator-process';
