export * from './money';
export * from './payment-events';
export * from './payment';
