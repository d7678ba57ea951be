import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one service process, served on `/metrics`. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly eventsProcessed: Counter<'event_type' | 'result'>;
  readonly eventProcessingSeconds: Histogram<'event_type'>;
  readonly paymentsTotal: Counter<'status'>;
  readonly paymentLatencySeconds: Histogram<'status'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.eventsProcessed = new Counter({
      name: 'dirigen_events_processed_total',
      help: 'Payment events consumed, by type and result (handled, duplicate, dead_lettered).',
      labelNames: ['event_type', 'result'],
      registers: [this.registry],
    });
    this.eventProcessingSeconds = new Histogram({
      name: 'dirigen_event_processing_seconds',
      help: 'Time from an event being produced to this service having handled it.',
      labelNames: ['event_type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.paymentsTotal = new Counter({
      name: 'dirigen_payments_total',
      help: 'Payments by the status this service saw them reach.',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.paymentLatencySeconds = new Histogram({
      name: 'dirigen_payment_latency_seconds',
      help: 'Time from a payment being requested to this service seeing its status.',
      labelNames: ['status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }
}
