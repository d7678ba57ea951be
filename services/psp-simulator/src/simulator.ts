import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerTestKey, headerValue, readBody, serverTimingHeader, writeJson } from './http-io';
import { IdempotencyStore } from './idempotency-store';
import { IdGenerator, randomAlphanumeric } from './random-ids';
import { applyControlUpdate, controlToWire, hangMsMax, initialControl, latencyMsMax, pickFault, type InjectedFault, type SimulatorControl } from './simulator-control';
import { StripePaymentIntents } from './stripe-payment-intents';
import {
  bodyTooLargeResponse,
  idempotencyConflict,
  invalidRequest,
  missingKeyResponse,
  outageResponse,
  stripeError,
  upstreamErrorResponse,
  type SimulatedResponse,
} from './stripe-wire';

export interface SimulatorOptions {
  /** 0 picks a free port (tests). */
  port: number;
  latencyMs?: number;
  /** Defaults to every interface, as a container needs. */
  host?: string;
  /** PaymentIntents and idempotency keys kept, each; the oldest go first. */
  recordsMax?: number;
  /** Uniform in [0, 1): decides injected faults. Swapped in tests for determinism. */
  random?: () => number;
  nowMs?: () => number;
  /** A monotonic clock for the processing time sent in Server-Timing; swapped in tests. */
  monotonicNowMs?: () => number;
}

export interface RunningSimulator {
  port: number;
  close(): Promise<void>;
}

/** 100k intents plus their first answers take ~95 MB of heap (measured) and cover ~50 s of traffic at 2,000/s. */
export const recordsMaxDefault = 100_000;
/** The Stripe API version answered when a client pins none. */
export const defaultStripeVersion = '2026-10-28.endive';
const idempotencyKeyLengthMax = 255;
/** Keep idle client sockets longer than any client does (Node clients: 4-5 s, load balancers: 60 s). */
const keepAliveTimeoutMs = 65_000;

interface Counters {
  requestsServed: number;
  idempotentReplays: number;
  idempotencyConflicts: number;
  injectedErrors: number;
  injectedTimeouts: number;
  outageRejections: number;
  threeDSecureCompleted: number;
}

/** One Stripe request's answer channel: its headers so far and when it arrived (for Server-Timing). */
interface Reply {
  response: http.ServerResponse;
  headers: Record<string, string>;
  receivedAtMs: number;
}

const zeroCounters = (): Counters => ({
  requestsServed: 0,
  idempotentReplays: 0,
  idempotencyConflicts: 0,
  injectedErrors: 0,
  injectedTimeouts: 0,
  outageRejections: 0,
  threeDSecureCompleted: 0,
});

/** A Stripe-shaped PSP with a control API for drills. Plain node:http: one request, a few small allocations. */
class StripeSimulator {
  private control: SimulatorControl;
  private counters = zeroCounters();
  private readonly conflictParameters = new Map<string, number>();
  private readonly intents: StripePaymentIntents;
  private readonly idempotency: IdempotencyStore;
  /** Latency and hang timers, cleared on close so the process can exit at once. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private readonly monotonicNowMs: () => number;

  constructor(private readonly options: Required<Pick<SimulatorOptions, 'latencyMs' | 'recordsMax'>> & SimulatorOptions) {
    this.control = initialControl(options.latencyMs);
    this.random = options.random ?? Math.random;
    this.monotonicNowMs = options.monotonicNowMs ?? (() => performance.now());
    this.intents = new StripePaymentIntents(options.recordsMax, new IdGenerator(), options.nowMs ?? Date.now);
    this.idempotency = new IdempotencyStore(options.recordsMax);
  }

  handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const receivedAtMs = this.monotonicNowMs();
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const control = path.startsWith('/_sim/');
    const handling = control ? this.handleControl(request, response, path) : this.handleStripe(request, response, path, queryAt === -1 ? '' : url.slice(queryAt + 1), receivedAtMs);
    handling.catch((error: unknown) => {
      // A bug, not a drill: say so on stderr (never the body: it may hold card numbers) and answer 500.
      process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'simulator bug', path, error: String(error) })}\n`);
      const timing = control ? undefined : { 'server-timing': serverTimingHeader(this.monotonicNowMs() - receivedAtMs) };
      writeJson(response, 500, stripeError(500, { type: 'api_error', message: 'Simulator error.' }).bodyText, timing);
    });
  }

  closeTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async handleStripe(request: http.IncomingMessage, response: http.ServerResponse, path: string, query: string, receivedAtMs: number): Promise<void> {
    this.counters.requestsServed += 1;
    const method = request.method ?? 'GET';
    const body = method === 'POST' ? await readBody(request) : (request.resume(), '');
    const stripeVersion = headerValue(request, 'stripe-version') ?? defaultStripeVersion;
    const headers: Record<string, string> = { 'request-id': `req_${randomAlphanumeric(14)}`, 'stripe-version': stripeVersion };
    const reply: Reply = { response, headers, receivedAtMs };
    if (this.control.outage) {
      this.counters.outageRejections += 1;
      return this.deliver(reply, outageResponse, 'none');
    }
    const fault = pickFault(this.control, this.random());
    if (fault === 'error') {
      this.counters.injectedErrors += 1;
      return this.deliver(reply, upstreamErrorResponse, 'none');
    }
    const apiKey = bearerTestKey(headerValue(request, 'authorization'));
    if (!apiKey) return this.deliver(reply, missingKeyResponse, fault);
    if (body === undefined) return this.deliver(reply, bodyTooLargeResponse, fault);
    const idempotencyKey = method === 'POST' ? headerValue(request, 'idempotency-key') : undefined;
    // Stripe takes a GET's parameters from the query string, a POST's from the form body.
    const params = new URLSearchParams(method === 'GET' ? query : body);
    const origin = `http://${request.headers.host ?? 'localhost'}`;
    if (idempotencyKey === undefined) return this.deliver(reply, this.route(method, path, params, origin), fault);

    headers['idempotency-key'] = idempotencyKey;
    if (idempotencyKey.length === 0 || idempotencyKey.length > idempotencyKeyLengthMax) {
      return this.deliver(reply, invalidRequest(`Idempotency-Key must be 1 to ${idempotencyKeyLengthMax} characters.`), fault);
    }
    const claim = this.idempotency.claim(apiKey, idempotencyKey, method, path, body);
    switch (claim.kind) {
      case 'conflict':
        this.counters.idempotencyConflicts += 1;
        for (const name of claim.differingParameters) this.conflictParameters.set(name, (this.conflictParameters.get(name) ?? 0) + 1);
        return this.deliver(reply, idempotencyConflict(idempotencyKey), fault);
      case 'replay': {
        this.counters.idempotentReplays += 1;
        headers['idempotent-replayed'] = 'true';
        if (!(claim.response instanceof Promise)) return this.deliver(reply, claim.response, fault);
        // It waited for the first request's processing time already: answer as soon as that is done.
        return this.send(reply, await claim.response, fault);
      }
      case 'first': {
        const answer = this.routeSafely(method, path, params, origin);
        await this.delay(this.control.latencyMs); // the processing time, during which a replay waits
        claim.complete(answer);
        return this.send(reply, answer, fault);
      }
      default:
        return assertNever(claim);
    }
  }

  private route(method: string, path: string, params: URLSearchParams, origin: string): SimulatedResponse {
    // /v1/payment_intents[/{id}[/{action}]]
    const parts = path.split('/');
    if (parts[1] === 'v1' && parts[2] === 'payment_intents' && parts.length <= 5) {
      const id = parts[3];
      const action = parts[4];
      if (!id && method === 'POST') return this.intents.create(params, origin);
      if (!id && method === 'GET') return this.intents.list(params);
      if (id === 'search' && action === undefined && method === 'GET') return this.intents.search(params);
      if (id && action === undefined && method === 'GET') return this.intents.retrieve(id);
      if (id && method === 'POST') {
        if (action === 'confirm') return this.intents.confirm(id, params, origin);
        if (action === 'capture') return this.intents.capture(id, params);
        if (action === 'cancel') return this.intents.cancel(id, params);
      }
    }
    return stripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
  }

  /** Like `route`, but a bug becomes a recorded 500 so replays waiting on this key are answered too. */
  private routeSafely(method: string, path: string, params: URLSearchParams, origin: string): SimulatedResponse {
    try {
      return this.route(method, path, params, origin);
    } catch (error) {
      process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'simulator bug', path, error: String(error) })}\n`);
      return stripeError(500, { type: 'api_error', message: 'Simulator error.' });
    }
  }

  /** Answers after the configured latency. */
  private async deliver(reply: Reply, answer: SimulatedResponse, fault: InjectedFault): Promise<void> {
    await this.delay(this.control.latencyMs);
    this.send(reply, answer, fault);
  }

  /**
   * Writes the answer with the time the simulator held the request (Server-Timing), so a client can
   * tell its own overhead from the PSP's. A timeout fault processed the request but loses the answer:
   * the client sees only silence.
   */
  private send(reply: Reply, answer: SimulatedResponse, fault: InjectedFault): void {
    const { response, headers, receivedAtMs } = reply;
    if (fault !== 'timeout') {
      return writeJson(response, answer.statusCode, answer.bodyText, { ...headers, 'server-timing': serverTimingHeader(this.monotonicNowMs() - receivedAtMs) });
    }
    this.counters.injectedTimeouts += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      response.destroy();
    }, hangMsMax);
    this.timers.add(timer);
    response.once('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async handleControl(request: http.IncomingMessage, response: http.ServerResponse, path: string): Promise<void> {
    const method = request.method ?? 'GET';
    const body = method === 'POST' ? await readBody(request) : (request.resume(), '');
    if (path === '/_sim/health' && method === 'GET') return writeJson(response, 200, '{"status":"ok"}');
    if (path === '/_sim/stats' && method === 'GET') return writeJson(response, 200, JSON.stringify(this.stats()));
    if (path === '/_sim/control' && method === 'GET') return writeJson(response, 200, JSON.stringify(controlToWire(this.control)));
    if (path === '/_sim/control' && method === 'POST') {
      const update = applyControlUpdate(this.control, parseJsonOrUndefined(body ?? ''));
      if (!update.ok) return writeJson(response, 400, JSON.stringify({ error: { message: update.message } }));
      this.control = update.control;
      return writeJson(response, 200, JSON.stringify(controlToWire(this.control)));
    }
    if (path === '/_sim/reset' && method === 'POST') {
      this.control = initialControl(this.options.latencyMs);
      this.counters = zeroCounters();
      this.conflictParameters.clear();
      this.intents.reset();
      this.idempotency.clear();
      return writeJson(response, 200, JSON.stringify({ reset: true, control: controlToWire(this.control) }));
    }
    if (path.startsWith('/_sim/3ds/') && method === 'GET') return this.completeThreeDSecure(response, path.slice('/_sim/3ds/'.length));
    return writeJson(response, 404, JSON.stringify({ error: { message: `No control route ${method} ${path}.` } }));
  }

  /** The page a customer's browser is sent to by `next_action.redirect_to_url`: passing it authenticates. */
  private completeThreeDSecure(response: http.ServerResponse, intentId: string): void {
    const completed = this.intents.completeAuthentication(intentId);
    if (!completed) return writeJson(response, 404, JSON.stringify({ error: { message: 'No PaymentIntent awaits 3-D Secure with this id.' } }));
    this.counters.threeDSecureCompleted += 1;
    if (completed.returnUrl) {
      const separator = completed.returnUrl.includes('?') ? '&' : '?';
      response.writeHead(302, { location: `${completed.returnUrl}${separator}payment_intent=${intentId}` }).end();
      return;
    }
    writeJson(response, 200, completed.response.bodyText);
  }

  private stats(): Record<string, unknown> {
    const counters = this.counters;
    return {
      requests_served: counters.requestsServed,
      authorizations: { ...this.intents.authorizations },
      three_d_secure_completed: counters.threeDSecureCompleted,
      captures: this.intents.captures,
      cancels: this.intents.cancels,
      idempotent_replays: counters.idempotentReplays,
      idempotency_conflicts: counters.idempotencyConflicts,
      // Which parameters differed in those conflicts, by name (never a value: they include card numbers).
      idempotency_conflict_parameters: Object.fromEntries(this.conflictParameters),
      injected: { errors: counters.injectedErrors, timeouts: counters.injectedTimeouts, outage_rejections: counters.outageRejections },
      stored: { payment_intents: this.intents.size, idempotency_keys: this.idempotency.size, records_max: this.options.recordsMax },
    };
  }
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function assertNever(value: never): never {
  throw new Error(`invariant: unhandled case ${JSON.stringify(value)}`);
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const latencyMs = options.latencyMs ?? 0;
  if (!Number.isSafeInteger(latencyMs) || latencyMs < 0 || latencyMs > latencyMsMax) {
    throw new Error(`latencyMs must be an integer from 0 to ${latencyMsMax}, got ${latencyMs}`);
  }
  const recordsMax = options.recordsMax ?? recordsMaxDefault;
  const simulator = new StripeSimulator({ ...options, latencyMs, recordsMax });
  const server = http.createServer((request, response) => simulator.handle(request, response));
  server.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        simulator.closeTimers();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections(); // keep-alive and hung sockets would otherwise hold close() open
      }),
  };
}
