export * from './priority-routing';
