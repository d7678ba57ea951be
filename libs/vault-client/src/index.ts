export * from './vault-client';
export * from './vault-client-error';
export * from './vault-tls';
export * from './vault-replicas';
