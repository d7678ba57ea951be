import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body read. Stripe bodies for one payment are well under 4 KiB. */
export const requestBodyBytesMax = 64 * 1024;

/** The body as text, or undefined when it exceeds `requestBodyBytesMax` (the rest is discarded). */
export function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      if (receivedBytes > requestBodyBytesMax) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Stripe accepts any secret test key; a live or publishable key, or none, is refused. */
export function bearerTestKey(authorization: string | undefined): string | undefined {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const key = authorization.slice('Bearer '.length).trim();
  return key.startsWith('sk_test_') && key.length > 'sk_test_'.length ? key : undefined;
}

export function writeJson(response: ServerResponse, statusCode: number, bodyText: string, headers?: Record<string, string>): void {
  if (response.writableEnded || response.destroyed) return; // the client gave up while we waited
  response.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(bodyText),
    ...headers,
  });
  response.end(bodyText);
}

/** The Server-Timing metric a client reads as this PSP's own processing time. */
export const serverTimingMetric = 'psp';

/**
 * `psp;dur=12.3`: how long the simulator held the request, from receiving it to writing the answer
 * (its injected latency included), in milliseconds with one decimal. A client subtracts it from the
 * time it measured to see its own overhead, with no clock shared between the two.
 */
export function serverTimingHeader(durationMs: number): string {
  return `${serverTimingMetric};dur=${Math.max(0, durationMs).toFixed(1)}`;
}

export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
