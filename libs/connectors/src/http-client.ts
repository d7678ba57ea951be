import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { pspServerTimingMetric, serverTimingDurationMs } from './server-timing';

// The PSP call goes through node:http on purpose: the OpenTelemetry http instrumentation patches
// `http.request`/`https.request`, so every PSP call becomes a client span without code here.
// Calls go through the module objects (`http.request`, not a destructured import) so the patch applies.

export interface HttpClientOptions {
  /** `http://host:port` or `https://host`, optionally with a path prefix; no trailing slash needed. */
  baseUrl: string;
  /** Deadline for the whole exchange: connect, send, and the last byte of the answer. */
  timeoutMs: number;
  /** Sockets kept per origin; requests beyond it queue in the agent. */
  maxSockets: number;
  /** Largest answer read; a longer one is an error (a PSP never sends megabytes for one payment). */
  responseBytesMax?: number;
}

export type HttpMethod = 'GET' | 'POST';

export type HttpBody = { kind: 'form'; form: URLSearchParams } | { kind: 'json'; json: unknown };

export interface HttpRequest {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`. */
  path: string;
  headers: Record<string, string>;
  body?: HttpBody;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  bodyText: string;
  latencyMs: number;
  /**
   * The PSP's own processing time as it reported it (`Server-Timing: psp;dur=…`, milliseconds);
   * absent when it reported none or a malformed one. `latencyMs` minus this is the network's and our share.
   */
  pspProcessingMs?: number;
}

/** `timeout`: no full answer before the deadline. `not_sent`: the request provably never reached the server. */
export type HttpTransportFailure = 'timeout' | 'not_sent' | 'network';

/**
 * The exchange failed below HTTP. Only `not_sent` proves the PSP did nothing; after `timeout` or
 * `network` the PSP may have processed the request. The message names method and path only.
 */
export class HttpTransportError extends Error {
  constructor(
    readonly failure: HttpTransportFailure,
    readonly latencyMs: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpTransportError';
  }
}

export const responseBytesMaxDefault = 1024 * 1024;
/**
 * How long an idle keep-alive socket waits for reuse. Below Node's default server keep-alive (5 s)
 * and load balancers' (60 s): reusing a socket the server is closing fails mid-request, and a
 * failure mid-request is an unknown outcome. Under load sockets never sit idle this long.
 */
const idleSocketTimeoutMs = 4_000;

/** Errors raised before a single byte left: connection refused, name not resolved. */
const notSentErrorCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A small JSON/form client with explicit limits. It never retries: whether a failed PSP call may
 * be repeated (same idempotency key, another connector, or a status inquiry first) is the
 * orchestrator's decision, and a hidden retry here could double the latency budget or hide an
 * unknown outcome.
 */
export class HttpClient {
  private readonly origin: URL;
  private readonly pathPrefix: string;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly responseBytesMax: number;

  constructor(private readonly options: HttpClientOptions) {
    assertPositiveInteger(options.timeoutMs, 'timeoutMs');
    assertPositiveInteger(options.maxSockets, 'maxSockets');
    this.origin = new URL(options.baseUrl);
    if (this.origin.protocol !== 'http:' && this.origin.protocol !== 'https:') {
      throw new Error(`invariant: baseUrl must be http(s), got ${this.origin.protocol}`);
    }
    this.pathPrefix = this.origin.pathname.replace(/\/+$/, '');
    this.transport = this.origin.protocol === 'https:' ? https : http;
    const AgentClass = this.origin.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxSockets,
      timeout: idleSocketTimeoutMs,
      scheduling: 'lifo', // reuse the warmest socket; idle ones expire instead of going stale
    });
    this.responseBytesMax = options.responseBytesMax ?? responseBytesMaxDefault;
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    const payload = encodeBody(request.body);
    const headers: Record<string, string | number> = { accept: 'application/json', ...request.headers };
    if (payload) {
      headers['content-type'] = payload.contentType;
      headers['content-length'] = Buffer.byteLength(payload.text);
    }
    const startedAt = performance.now();
    const label = `${request.method} ${request.path}`;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (failure: HttpTransportFailure, message: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(new HttpTransportError(failure, elapsedMs(startedAt), `${label}: ${message}`, { cause }));
      };
      let outgoing: http.ClientRequest | undefined;
      // Armed before the request exists, so no failure path can run ahead of it.
      const deadline = setTimeout(() => {
        fail('timeout', `no answer within ${this.options.timeoutMs} ms`);
        outgoing?.destroy();
      }, this.options.timeoutMs);
      try {
        outgoing = this.startRequest(request, headers, startedAt, fail, (response) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve(response);
        });
      } catch (error) {
        // Node refused the request before sending (an invalid header value): a bug on our side.
        settled = true;
        clearTimeout(deadline);
        throw error;
      }
      outgoing.end(payload?.text);
    });
  }

  /** Wires one request's events to `fail`/`succeed`; each fires at most once (the caller guards). */
  private startRequest(
    request: HttpRequest,
    headers: Record<string, string | number>,
    startedAt: number,
    fail: (failure: HttpTransportFailure, message: string, cause?: unknown) => void,
    succeed: (response: HttpResponse) => void,
  ): http.ClientRequest {
    const outgoing = this.transport.request(
      {
        protocol: this.origin.protocol,
        hostname: this.origin.hostname,
        port: this.origin.port || undefined,
        method: request.method,
        path: this.pathPrefix + request.path,
        headers,
        agent: this.agent,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let receivedBytes = 0;
        incoming.on('data', (chunk: Buffer) => {
          receivedBytes += chunk.length;
          if (receivedBytes > this.responseBytesMax) {
            outgoing.destroy();
            fail('network', `answer larger than ${this.responseBytesMax} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        incoming.on('end', () => {
          const pspProcessingMs = serverTimingDurationMs(incoming.headers['server-timing'], pspServerTimingMetric);
          succeed({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            bodyText: Buffer.concat(chunks, receivedBytes).toString('utf8'),
            latencyMs: elapsedMs(startedAt),
            ...(pspProcessingMs === undefined ? {} : { pspProcessingMs }),
          });
        });
        incoming.on('error', (error) => fail('network', 'answer interrupted', error));
        incoming.on('close', () => {
          if (!incoming.complete) fail('network', 'answer cut off');
        });
      },
    );
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const failure = error.code && notSentErrorCodes.has(error.code) ? 'not_sent' : 'network';
      fail(failure, error.code ?? 'connection error', error);
    });
    return outgoing;
  }

  /** Closes pooled sockets; in-flight requests finish or fail. */
  close(): void {
    this.agent.destroy();
  }
}

function encodeBody(body: HttpBody | undefined): { contentType: string; text: string } | undefined {
  if (!body) return undefined;
  switch (body.kind) {
    case 'form':
      return { contentType: 'application/x-www-form-urlencoded', text: body.form.toString() };
    case 'json':
      return { contentType: 'application/json', text: JSON.stringify(body.json) };
    default:
      return assertNever(body);
  }
}

function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

function assertPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`invariant: ${name} must be a positive integer, got ${value}`);
}

// Does not print the value: a request body may hold card data.
function assertNever(_value: never): never {
  throw new Error('invariant: unhandled body kind');
}
