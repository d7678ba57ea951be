export * from './card-validation';
export * from './card-number-scan';
