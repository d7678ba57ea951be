export * from './connector';
export * from './connector-registry';
export * from './http-client';
export * from './server-timing';
export * from './stripe/stripe.connector';
export * from './stripe/stripe.transformers';
export * from './stripe/stripe.wire';
