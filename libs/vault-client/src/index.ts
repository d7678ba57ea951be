export * from './vault-client';
export * from './vault-client-error';
