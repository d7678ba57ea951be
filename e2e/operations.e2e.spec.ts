import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { api, cardPayment, eventually, platform } from './support/api';

interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

/** OTLP span kinds, and the span name prefix OpenTelemetry's gRPC instrumentation gives vault calls. */
const spanKindServer = 2;
const spanKindClient = 3;
const vaultService = 'grpc.dirigen.vault.v1.VaultService';

function vaultServerSpans(spans: Span[]): Span[] {
  return spans.filter((span) => span.service === 'tokenization' && span.kind === spanKindServer && span.name.startsWith(`${vaultService}/`));
}

describe('operating the platform', () => {
  it('makes one payment one trace across HTTP, Kafka, gRPC and every service, down to the PSP call', async () => {
    const created = await api('/v1/payments', { body: cardPayment() });
    expect(created.body.status).toBe('succeeded');
    // The services tag their spans with the payment id: find this payment's trace by it.
    const traceId = await eventually(async () => {
      const tagged = (await (await fetch(`${platform.collectorUrl}/spans?paymentId=${created.body.id}`)).json()) as Span[];
      return tagged[0]?.traceId;
    });
    // Spans arrive in export batches: wait until every service's spans and every parent are in.
    const orphans = (spans: Span[]) => spans.filter((span) => !span.parentSpanId || !spans.some((parent) => parent.spanId === span.parentSpanId));
    let seen: Span[] = [];
    const trace = await eventually(async () => {
      const spans = (await (await fetch(`${platform.collectorUrl}/spans?traceId=${traceId}`)).json()) as Span[];
      seen = spans;
      const services = new Set(spans.map((span) => span.service));
      const vaultCalls = vaultServerSpans(spans).map((span) => span.name);
      const complete = ['intake', 'tokenization', 'fraud', 'routing', 'gateway'].every((service) => services.has(service)) && vaultCalls.includes(`${vaultService}/DetokenizeBatch`);
      return complete && orphans(spans).length <= 1 ? spans : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; spans seen: ${JSON.stringify(seen.map(({ service, name, spanId, parentSpanId }) => ({ service, name, spanId, parentSpanId })))}`);
    });
    expect(trace.some((span) => span.service === 'gateway' && span.name.startsWith('authorize stripe'))).toBe(true);
    // The vault is reached over gRPC: intake's Tokenize and the gateway's DetokenizeBatch (one call per
    // batch of authorizations; this payment was alone in its batch) are server spans of the vault, each the
    // child of its caller's client span.
    const parentOf = (span: Span) => trace.find((candidate) => candidate.spanId === span.parentSpanId);
    const byMethod = new Map(vaultServerSpans(trace).map((span) => [span.name, span]));
    expect(parentOf(byMethod.get(`${vaultService}/Tokenize`)!)).toMatchObject({ service: 'intake', kind: spanKindClient, name: `${vaultService}/Tokenize` });
    expect(parentOf(byMethod.get(`${vaultService}/DetokenizeBatch`)!)).toMatchObject({ service: 'gateway', kind: spanKindClient, name: `${vaultService}/DetokenizeBatch` });
    // The JSON log line intake wrote for the payment carries the same trace id.
    const logLines = platform.processes
      .filter((entry) => entry.name === 'intake')
      .flatMap((entry) => readFileSync(join(platform.dataDir, 'logs', `${entry.instance}.log`), 'utf8').split('\n'))
      .filter((line) => line.includes(created.body.id) && line.includes('payment answered'));
    expect(logLines).toHaveLength(1);
    expect(JSON.parse(logLines[0]!)).toMatchObject({ level: 'info', service: 'intake', trace_id: traceId, paymentId: created.body.id, status: 'succeeded' });
    // Every span any service tagged with this payment belongs to this one trace.
    const tagged = (await (await fetch(`${platform.collectorUrl}/spans?paymentId=${created.body.id}`)).json()) as Span[];
    expect(new Set(tagged.map((span) => span.traceId))).toEqual(new Set([traceId]));
    // The PSP call itself is a client span under the authorization.
    expect(trace.some((span) => span.service === 'gateway' && /^POST/.test(span.name))).toBe(true);
    // One root, the merchant's HTTP request: every other span has its parent inside the trace.
    expect(orphans(trace)).toMatchObject([{ service: 'intake', name: expect.stringMatching(/^POST/) }]);
  });

  it('keeps concurrent payments apart: each its own single trace, though they shared consumer batches', async () => {
    const paymentsMax = 16;
    const created = await Promise.all(Array.from({ length: paymentsMax }, (_, index) => api('/v1/payments', { body: cardPayment({ amount: 4100 + index }) })));
    expect(created.map((answer) => answer.body.status)).toEqual(Array(paymentsMax).fill('succeeded'));
    const ids = created.map((answer) => answer.body.id as string);
    const spansOf = async (query: string) => (await (await fetch(`${platform.collectorUrl}/spans?${query}`)).json()) as Span[];
    // Wait until each payment's spans from every consumer service are in (export batches arrive late).
    const tagged = await eventually(async () => {
      const byPayment = await Promise.all(ids.map((id) => spansOf(`paymentId=${id}`)));
      const complete = byPayment.every((spans) => ['fraud', 'routing', 'gateway'].every((service) => spans.some((span) => span.service === service)));
      return complete ? byPayment : undefined;
    }, 30_000, 250);
    const traceIds = tagged.map((spans) => new Set(spans.map((span) => span.traceId)));
    // Every span tagged with a payment is in that payment's one trace, and no two payments share a trace.
    traceIds.forEach((set, index) => expect(set.size, ids[index]).toBe(1));
    expect(new Set(traceIds.map((set) => [...set][0])).size).toBe(paymentsMax);
    // Each trace has one root, its own merchant request, whichever batch its events were processed in.
    for (const [index, set] of traceIds.entries()) {
      const trace = await eventually(async () => {
        const spans = await spansOf(`traceId=${[...set][0]}`);
        const roots = spans.filter((span) => !span.parentSpanId || !spans.some((parent) => parent.spanId === span.parentSpanId));
        return roots.length === 1 ? spans : undefined;
      }, 30_000, 250);
      const roots = trace.filter((span) => !span.parentSpanId || !trace.some((parent) => parent.spanId === span.parentSpanId));
      expect(roots, ids[index]).toMatchObject([{ service: 'intake', name: expect.stringMatching(/^POST/) }]);
    }
  });

  it('answers /health with Kafka and PostgreSQL checks, and /metrics in Prometheus format, on every service', async () => {
    for (const process of platform.processes.filter((entry) => entry.name !== 'psp-simulator')) {
      const health = await fetch(`http://127.0.0.1:${process.port}/health`);
      expect(health.status, process.instance).toBe(200);
      const body = (await health.json()) as { checks: Record<string, string> };
      expect(body.checks.kafka, process.instance).toBe('up');
      if (process.name !== 'psp-simulator') expect(body.checks.postgres, process.instance).toBe('up');
      const metrics = await (await fetch(`http://127.0.0.1:${process.port}/metrics`)).text();
      expect(metrics, process.instance).toContain('process_cpu_user_seconds_total');
    }
    const intakeMetrics = await Promise.all(
      platform.processes.filter((entry) => entry.name === 'intake').map(async (entry) => (await fetch(`http://127.0.0.1:${entry.port}/metrics`)).text()),
    );
    expect(intakeMetrics.join('\n')).toMatch(/dirigen_payments_total\{[^}]*status="succeeded"[^}]*\} \d+/);
    expect(intakeMetrics.join('\n')).toContain('dirigen_payment_latency_seconds_bucket');
    const vault = platform.processes.find((entry) => entry.name === 'tokenization')!;
    const vaultMetrics = await (await fetch(`http://127.0.0.1:${vault.port}/metrics`)).text();
    expect(vaultMetrics).toMatch(/dirigen_vault_calls_total\{[^}]*method="(Tokenize|DetokenizeBatch)"[^}]*outcome="ok"[^}]*\} \d+/);
    expect(vaultMetrics).toContain('dirigen_vault_call_seconds_bucket');
  });

  it('runs every consumer service as two replicas sharing the partitions of its group', async () => {
    const admin = new Kafka({ clientId: 'e2e-groups', brokers: platform.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups(['fraud', 'routing', 'gateway', 'intake-projection']);
      for (const group of groups) {
        expect(group.state, group.groupId).toBe('Stable');
        expect(group.members, group.groupId).toHaveLength(2);
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('answers every request with its final outcome behind the load balancer, whichever replica holds it', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, (_, index) => api('/v1/payments', { body: cardPayment({ amount: 1000 + index }) })));
    for (const response of responses) {
      expect(response.status).toBe(201);
      expect(response.body.status).toBe('succeeded');
    }
  });
});
