import type { ServiceMetrics } from '@dirigen/observability';
import { Counter, Histogram } from 'prom-client';

/**
 * The vault's own Prometheus series, on the service's registry: calls by method and outcome (`ok`
 * or the vault's error code), so refused, rate-limited and failed-to-open detokenizes can be alerted
 * on, and how long each method takes. Never a label with a token, merchant or card fact.
 */
export class VaultMetrics {
  readonly calls: Counter<'method' | 'outcome'>;
  readonly callSeconds: Histogram<'method'>;

  constructor(metrics: ServiceMetrics) {
    this.calls = new Counter({
      name: 'dirigen_vault_calls_total',
      help: 'Vault gRPC calls by method and outcome (ok, or the vault error code such as caller_forbidden, rate_limited, integrity_failure).',
      labelNames: ['method', 'outcome'],
      registers: [metrics.registry],
    });
    this.callSeconds = new Histogram({
      name: 'dirigen_vault_call_seconds',
      help: 'Time the vault took to serve a gRPC call, by method.',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [metrics.registry],
    });
  }
}
