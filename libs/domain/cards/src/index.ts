export * from './card-validation';
