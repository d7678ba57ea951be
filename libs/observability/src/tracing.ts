import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { maskDigitRuns, urlAttributeNames } from './url-redaction';

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry SDK for this process. Must run before `http` and `@grpc/grpc-js` are first required,
 * so every service imports its `tracing.ts` as the first line of `main.ts`.
 * Exporters follow the standard env (`OTEL_TRACES_EXPORTER=otlp|console|none`,
 * `OTEL_EXPORTER_OTLP_ENDPOINT`); the platform launcher sets them explicitly.
 */
export function startTracing(serviceName: string): void {
  if (sdk) return;
  process.env.OTEL_SERVICE_NAME ??= serviceName;
  process.env.OTEL_TRACES_EXPORTER ??= 'none';
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  sdk = new NodeSDK({
    serviceName,
    instrumentations: [
      new HttpInstrumentation({
        // Health probes and scrapes are not payments: keep them out of traces.
        ignoreIncomingRequestHook: (request) => /^\/(health|metrics)/.test(request.url ?? ''),
        // A merchant may type a card number into a URL (an id, a query): traces never carry it.
        requestHook: (span) => {
          const attributes = (span as unknown as { attributes?: Record<string, unknown> }).attributes ?? {};
          for (const name of urlAttributeNames) {
            const value = attributes[name];
            if (typeof value === 'string') span.setAttribute(name, maskDigitRuns(value));
          }
        },
      }),
      // Vault calls (intake, gateway → tokenization): client and server spans, context in gRPC metadata.
      // No metadata is recorded as attributes: it carries the callers' credentials.
      new GrpcInstrumentation(),
    ],
  });
  sdk.start();
}

/** Flushes buffered spans; called on graceful shutdown. */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
