import { ApiError } from './api-error';

/** What a client is told to wait before retrying a request refused because a dependency is down. */
export const dependencyRetryAfterSeconds = 2;

/** Node socket errors of a connection that could not be made or was cut. */
const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * SQLSTATEs of a server that is going away or not there yet (PostgreSQL appendix A): class 08
 * (connection exception), 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too many connections).
 */
const unavailableSqlStates = /^(08...|57P0[123]|53300)$/;
/** node-postgres reports a cut or timed-out connection by message only. */
const unavailableMessages = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated due to connection timeout/i;

/**
 * True when `error` says the database could not be reached (down, restarting, cut mid-query),
 * as opposed to a query it refused: then nothing was recorded and the request is safe to retry.
 * TypeORM wraps the driver's error (`driverError`); both are looked at.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const candidate of [error, (error as { driverError?: unknown } | undefined)?.driverError]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const { code, message } = candidate as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (connectionErrorCodes.has(code) || unavailableSqlStates.test(code))) return true;
    if (typeof message === 'string' && unavailableMessages.test(message)) return true;
  }
  return false;
}

/** The merchant API's answer while the service cannot record anything: 503 with Retry-After. */
export function serviceUnavailable(): ApiError {
  return new ApiError(503, 'api_error', 'service_unavailable', 'The service cannot record requests right now; retry shortly with the same Idempotency-Key.', undefined, dependencyRetryAfterSeconds);
}
