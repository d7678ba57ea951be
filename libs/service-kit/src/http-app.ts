import { HttpException, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError } from './api-error';
import { isDatabaseUnavailable, serviceUnavailable } from './dependency-unavailable';

/**
 * How much of a request body the server reads and throws away to answer an error it found before
 * the body ended (an oversized body, an unsupported media type). Answering and closing while the
 * client still sends makes the kernel reset the connection, and the client reads a reset instead
 * of the answer (RFC 9112 §9.6, "the TCP reset problem"). Past this many bytes the connection is
 * cut: the server does not read unbounded uploads for anyone.
 */
export const unreadBodyDiscardBytesMax = 16 * 1024 * 1024;
/** How long the server waits for such a body to end before answering anyway (a slow sender). */
export const unreadBodyDiscardTimeoutMs = 10_000;

export interface HttpAppOptions {
  port: number;
  host?: string;
  /** Largest request body accepted; larger ones get 413 before any handler runs. */
  bodyLimitBytes?: number;
  logger: Logger;
  /** Maps errors of the service's own boundaries (e.g. a client library's typed error) to the contract's shape; undefined falls through to the defaults. */
  mapError?: (error: unknown) => ApiError | undefined;
  /** Connects transports besides HTTP (e.g. a gRPC server) to the same application: they start before HTTP listens and close with it. */
  connectMicroservices?: (app: INestApplication) => void;
}

/**
 * A NestJS application on Fastify whose every error, including ones raised before routing
 * (malformed JSON, oversized body, unknown route), answers in the contract's error shape.
 */
export async function createHttpApp(module: Type<unknown>, options: HttpAppOptions): Promise<INestApplication> {
  const answer = async (error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const apiError = options.mapError?.(error) ?? toApiError(error);
    logFailure(options.logger, apiError, error);
    if (!(await discardUnreadBody(request.raw))) void reply.header('connection', 'close');
    sendApiError(reply, apiError);
  };
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    keepAliveTimeout: 65_000,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Errors Fastify answers itself, outside the error handler, in its own shape: a URL whose
    // percent-encoding does not decode (`/v1/payments/%`), and a request Node cannot parse as HTTP.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void answer(error, request, reply),
    clientErrorHandler: answerUnparsableRequest,
  });
  // abortOnError off: a provider failing at start (bad configuration, unreachable database) rejects
  // here, so runService logs why; Nest's default exits silently, its own logger being off.
  // bodyParser off: Nest would add a form (application/x-www-form-urlencoded) parser beside Fastify's
  // JSON one. The contract is JSON in and out; any other body is refused with 415.
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { logger: false, bufferLogs: false, abortOnError: false, bodyParser: false });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  // Errors Fastify raises before routing (body parsing, body limit) and those of its 404 handler.
  fastify.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    await answer(error, request, reply);
    return reply;
  });
  // Errors thrown in Nest's pipeline: guards, pipes, handlers.
  app.useGlobalFilters({
    catch(exception: unknown, host) {
      void answer(exception, host.switchToHttp().getRequest<FastifyRequest>(), host.switchToHttp().getResponse<FastifyReply>());
    },
  });
  app.enableShutdownHooks();
  if (options.connectMicroservices) {
    options.connectMicroservices(app);
    await app.startAllMicroservices();
  }
  await app.listen(options.port, options.host ?? '0.0.0.0');
  return app;
}

/**
 * A 5xx is logged with what identifies the failure (type, message, code, stack), never the whole
 * error: a TypeORM error carries its query's parameters, which hold merchants' data.
 */
function logFailure(logger: Logger, apiError: ApiError, error: unknown): void {
  if (apiError.status < 500) return;
  const { name, message, code, stack } = (error ?? {}) as { name?: string; message?: string; code?: unknown; stack?: string };
  const summary = { type: name, message, code, ...(apiError.retryAfterSeconds === undefined ? { stack } : {}) };
  // A dependency being away is an operating condition (the client is told to retry), not a bug.
  if (apiError.retryAfterSeconds !== undefined) logger.warn({ err: summary, code: apiError.code }, 'request refused: a dependency is unavailable');
  else logger.error({ err: summary }, 'request failed');
}

function sendApiError(reply: FastifyReply, apiError: ApiError): void {
  if (apiError.retryAfterSeconds !== undefined) void reply.header('retry-after', String(apiError.retryAfterSeconds));
  void reply.status(apiError.status).send(apiError.toBody());
}

/**
 * Reads and drops what is left of a request body the server will not use, so that the answer
 * reaches the client instead of a connection reset. Resolves true once the body has ended; false
 * when it passed `unreadBodyDiscardBytesMax` or `unreadBodyDiscardTimeoutMs` (the caller then
 * closes the connection, the one case where the client may see a reset).
 */
export function discardUnreadBody(request: IncomingMessage): Promise<boolean> {
  if (request.complete || request.readableEnded) return Promise.resolve(true);
  const declaredBytes = Number(request.headers['content-length']);
  if (declaredBytes > unreadBodyDiscardBytesMax) return Promise.resolve(false);
  return new Promise((resolve) => {
    let discardedBytes = 0;
    const settle = (ended: boolean) => {
      clearTimeout(timer);
      request.off('data', onData).off('end', onEnd).off('error', onFailure).off('close', onClose);
      // Past the limit the rest is left unread: nothing more is pulled off the wire.
      if (!ended) request.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      discardedBytes += chunk.length;
      if (discardedBytes > unreadBodyDiscardBytesMax) settle(false);
    };
    const onEnd = () => settle(true);
    const onFailure = () => settle(false);
    const onClose = () => settle(request.complete);
    const timer = setTimeout(() => settle(false), unreadBodyDiscardTimeoutMs);
    request.on('data', onData).on('end', onEnd).on('error', onFailure).on('close', onClose);
    request.resume();
  });
}

function isFastifyError(error: unknown): boolean {
  return typeof (error as { code?: unknown } | undefined)?.code === 'string' && (error as { code: string }).code.startsWith('FST_ERR_');
}

/**
 * Answers, in the contract's shape, a request Node could not parse (a malformed request line or
 * header, headers past Node's size limit, a request too slow to arrive), then closes: what
 * follows on the connection cannot be trusted to start a new request.
 */
function answerUnparsableRequest(error: Error & { code?: string }, socket: Duplex): void {
  // The peer is gone: nobody to answer.
  if (error.code === 'ECONNRESET' || !socket.writable) return;
  const apiError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError(431, 'invalid_request_error', 'headers_too_large', 'The request headers are larger than the limit.')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError(408, 'invalid_request_error', 'request_timeout', 'The request did not arrive in time.')
        : ApiError.invalidRequest('invalid_request', 'The request is not valid HTTP.');
  const body = JSON.stringify(apiError.toBody());
  socket.end(
    `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Maps anything thrown while serving a request to the contract's error shape. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // Nest wraps Fastify's own 4xx errors (body parsing, limits) in an HttpException; their code is on the cause.
  const cause = error instanceof HttpException ? error.cause : error;
  switch ((cause as { code?: unknown } | undefined)?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'invalid_request_error', 'body_too_large', 'The request body is larger than the limit.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the request body as application/json.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return ApiError.invalidRequest('invalid_json', 'The request body is not valid JSON.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ApiError.invalidRequest('invalid_json', 'The request body is empty but declared as JSON.');
    case 'FST_ERR_BAD_URL':
      return ApiError.invalidRequest('invalid_request', 'The request URL is not valid: a percent-encoded part does not decode.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return ApiError.invalidRequest('invalid_request', 'The Content-Length header does not match the body.');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(414, 'invalid_request_error', 'url_too_long', 'A part of the request URL is longer than the limit.');
  }
  // Any other refusal Fastify raises itself (its errors carry a 4xx statusCode): the caller's fault,
  // never a 500. Its message is not echoed: it may quote the URL, where a card number could be.
  const fastifyStatus = (cause as { statusCode?: unknown } | undefined)?.statusCode;
  if (isFastifyError(cause) && typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    return new ApiError(fastifyStatus, 'invalid_request_error', 'invalid_request', `The request was refused (${STATUS_CODES[fastifyStatus] ?? fastifyStatus}).`);
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return new ApiError(404, 'invalid_request_error', 'route_not_found', 'Unrecognized request URL.');
    if (status === 405) return new ApiError(405, 'invalid_request_error', 'method_not_allowed', 'This method is not allowed on this URL.');
    if (status < 500) return new ApiError(status, 'invalid_request_error', 'invalid_request', error.message);
  }
  if (error instanceof SyntaxError) return ApiError.invalidRequest('invalid_json', 'The request body is not valid JSON.');
  if (isDatabaseUnavailable(error)) return serviceUnavailable();
  return new ApiError(500, 'api_error', 'internal_error', 'An internal error occurred.');
}
