// The local platform's HTTP load balancer in front of the intake replicas, as a Kubernetes Service
// plus an ingress with retries would be. Each request goes to the next replica, round robin; a
// replica that refuses the connection is skipped; a replica that dies while holding a request is
// retried on another one only when repeating the request is safe; and when no replica is up the
// client gets a 503 in the contract's error shape with Retry-After, never a reset connection.
//
// Safe to repeat: GET/HEAD/OPTIONS/DELETE (DELETE /v1/tokens/:id destroys a record, twice is once), and
// any request carrying an Idempotency-Key (intake answers the second with the first's outcome). A POST
// without one is not repeated once it may have reached a replica: the client gets 502 and decides.
import { Agent, createServer, request as httpRequest } from 'node:http';

/** A request body is buffered (so it can be sent again) up to this size; larger ones stream once, unretried. */
export const retryableBodyBytesMax = 256 * 1024;
/** Sockets kept open to each replica. */
const socketsPerBackendMax = 256;
/** How long one replica may take to answer (intake waits up to 5 s for a payment's outcome). */
const backendTimeoutMs = 35_000;
const retryAfterSeconds = 1;
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
/** Errors where the replica never got the request: trying another is always safe. */
const notConnectedCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own; never forwarded. */
const hopByHopHeaders = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

export function startLoadBalancer({ port, backends, host = '0.0.0.0', log = () => {} }) {
  const agent = new Agent({ keepAlive: true, maxSockets: socketsPerBackendMax, maxFreeSockets: socketsPerBackendMax });
  let next = 0;

  const server = createServer((client, response) => {
    const first = next++ % backends.length;
    readBody(client).then(
      (body) => forward(client, response, body, first, 0, false),
      () => response.destroy(),
    );
  });
  server.keepAliveTimeout = 65_000;

  /** Tries the replicas in turn from `first`, each once: a retry always goes to another replica. */
  function forward(client, response, body, first, tried, reached) {
    if (tried >= backends.length) return answerUnavailable(response, reached);
    const backend = backends[(first + tried) % backends.length];
    const headers = forwardedHeaders(client);
    if (body.buffered) headers['content-length'] = String(body.buffered.length);
    const upstream = httpRequest({ host: '127.0.0.1', port: backend, method: client.method, path: client.url, headers, agent, timeout: backendTimeoutMs });
    let answered = false;
    // A client that hangs up takes its request with it: never retried elsewhere.
    const abandon = () => {
      if (!response.writableFinished) upstream.destroy();
    };
    response.once('close', abandon);
    upstream.once('response', (answer) => {
      answered = true;
      response.writeHead(answer.statusCode, answer.statusMessage, withoutHopByHop(answer.headers));
      answer.pipe(response);
      answer.once('aborted', () => response.destroy());
      answer.once('error', () => response.destroy());
    });
    upstream.once('timeout', () => upstream.destroy(Object.assign(new Error('replica timed out'), { code: 'ETIMEDOUT' })));
    upstream.once('error', (error) => {
      // After the answer began, its own stream reports a cut (and destroys the response).
      if (answered || response.destroyed) return;
      response.off('close', abandon);
      const neverReached = notConnectedCodes.has(error.code);
      if (neverReached || (body.buffered && safeToRepeat(client))) {
        log(`replica ${backend}: ${error.code ?? error.message}; trying the next`);
        return forward(client, response, body, first, tried + 1, reached || !neverReached);
      }
      answerError(response, 502, 'replica_failed', 'The replica handling this request stopped before answering; the request may or may not have been applied. Retry it with an Idempotency-Key to be safe.');
    });
    if (body.buffered) upstream.end(body.buffered);
    else {
      // Too large to buffer: stream it once (intake answers 413 for what exceeds its own limit).
      client.pipe(upstream);
      client.resume();
    }
  }

  function answerUnavailable(response, reached) {
    response.setHeader('retry-after', String(retryAfterSeconds));
    const message = reached ? 'Every replica failed while handling this request; retry shortly.' : 'No replica of the API is up right now; retry shortly.';
    answerError(response, 503, 'no_replica_available', message);
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.once('close', () => agent.destroy());
      resolve(server);
    });
  });
}

function safeToRepeat(request) {
  return idempotentMethods.has(request.method) || typeof request.headers['idempotency-key'] === 'string';
}

/**
 * Buffers the body when it is small enough to send again; otherwise leaves the stream paused, with
 * what was read so far put back, so it can be piped once.
 */
function readBody(request) {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > retryableBodyBytesMax) {
    request.pause();
    return Promise.resolve({ buffered: undefined });
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    const onData = (chunk) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= retryableBodyBytesMax) return;
      // Chunked and too large after all: stop buffering, put back what was read, stream the rest.
      request.off('data', onData);
      request.off('end', onEnd);
      request.pause();
      request.unshift(Buffer.concat(chunks));
      resolve({ buffered: undefined });
    };
    const onEnd = () => resolve({ buffered: Buffer.concat(chunks) });
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', reject);
  });
}

function forwardedHeaders(request) {
  const headers = withoutHopByHop(request.headers);
  delete headers['content-length'];
  if (request.headers['content-length'] !== undefined) headers['content-length'] = request.headers['content-length'];
  else if (request.headers['transfer-encoding'] !== undefined) headers['transfer-encoding'] = 'chunked';
  headers['x-forwarded-for'] = request.socket.remoteAddress ?? '';
  return headers;
}

function withoutHopByHop(headers) {
  const copy = { ...headers };
  for (const name of hopByHopHeaders) delete copy[name];
  return copy;
}

function answerError(response, status, code, message) {
  if (response.headersSent) return response.destroy();
  const body = JSON.stringify({ error: { type: 'api_error', code, message } });
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
