import { createServer, type Server } from 'node:http';
import { recordSpans } from './scan-sources';

export interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  paymentId?: string;
}

/**
 * A minimal OTLP/HTTP (JSON) trace receiver: the services export to it with the real OTLP
 * exporter, and tests read what arrived from `GET /spans?traceId=…`. Every span received is also
 * kept whole (attributes, events, resource) under `dataDir`, for the card-data scan after the suite.
 */
export async function startTraceCollector(port: number, dataDir: string): Promise<Server> {
  const spans: CollectedSpan[] = [];
  const spansMax = 200_000;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        recordSpans(dataDir, body);
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((attribute: { key: string }) => attribute.key === 'service.name')?.value?.stringValue ?? '?';
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              const paymentId = span.attributes?.find((attribute: { key: string }) => attribute.key === 'dirigen.payment_id')?.value?.stringValue;
              if (spans.length < spansMax) spans.push({ service, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name, kind: span.kind, ...(paymentId ? { paymentId } : {}) });
            }
          }
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (request.method === 'GET' && request.url?.startsWith('/spans')) {
        const query = new URL(request.url, 'http://collector').searchParams;
        const traceId = query.get('traceId');
        const paymentId = query.get('paymentId');
        const matching = spans.filter((span) => (!traceId || span.traceId === traceId) && (!paymentId || span.paymentId === paymentId));
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(matching));
        return;
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}
