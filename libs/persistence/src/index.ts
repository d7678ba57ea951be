export * from './data-source';
export * from './messaging-tables';
export * from './pg-outbox';
export * from './pg-inbox';
export * from './sql-migration';
export * from './pg-payment-states';
export * from './database-roles';
