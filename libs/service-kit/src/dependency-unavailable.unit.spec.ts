import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, serviceUnavailable } from './dependency-unavailable';

describe('isDatabaseUnavailable', () => {
  it('recognizes a refused or cut connection, bare or wrapped by TypeORM', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable({ message: 'Query failed', driverError: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) })).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
  });

  it('leaves a query the database refused to the usual error handling', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });

  it('answers 503 in the error shape with a Retry-After', () => {
    const error = serviceUnavailable();
    expect(error.status).toBe(503);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.toBody().error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
  });
});
