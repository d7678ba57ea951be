import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, cardPayment, eventually, platform, simulatorControl, simulatorStats, sql } from './support/api';
import { faultDrillFileName } from './support/global-setup';
import { publishedEventsOf } from './support/payment-topic';
import { healthy, pidOf } from './support/processes';

afterEach(() => simulatorControl({ latency_ms: 0 }));

describe('a service killed with SIGKILL mid-payment', () => {
  it('completes the payment exactly once after every gateway replica dies during the PSP call', async () => {
    await simulatorControl({ latency_ms: 1_500 });
    const before = await simulatorStats();
    const pending = api('/v1/payments', { body: cardPayment({ amount: 3131, metadata: { drill: 'sigkill-gateway' } }) });
    // Wait until the PSP has the authorization in hand, then kill every replica that could own it.
    await eventually(async () => ((await simulatorStats()).requests_served > before.requests_served ? true : undefined), 10_000, 20);
    const victims = platform.processes.filter((entry) => entry.name === 'gateway').map((entry) => entry.instance);
    const pidsBefore = new Map(victims.map((victim) => [victim, pidOf(victim)]));
    for (const pid of pidsBefore.values()) process.kill(pid, 'SIGKILL');
    const response = await pending;
    expect([201, 202]).toContain(response.status);
    const paymentId = response.body.id as string;
    await simulatorControl({ latency_ms: 0 });
    // The supervisor restarts the replicas, as Kubernetes would.
    for (const victim of victims) {
      await eventually(async () => (pidOf(victim) !== pidsBefore.get(victim) && (await healthy(victim)) ? true : undefined), 60_000, 250);
    }
    const final = await eventually(async () => {
      const payment = await api(`/v1/payments/${paymentId}`);
      return payment.body.status === 'succeeded' ? payment.body : undefined;
    }, 90_000, 250);
    expect(final.attempts).toHaveLength(1);
    expect(final.amount_captured).toBe(3131);
    const events = await sql('SELECT type FROM intake.payment_events WHERE payment_id = $1 ORDER BY position', [paymentId]);
    expect(events.map((event) => event.type)).toEqual(['payment.requested', 'payment.risk_assessed', 'payment.routed', 'payment.attempt_completed', 'payment.succeeded']);
    const after = await simulatorStats();
    // One PaymentIntent charged, however many times the restarted gateway asked.
    expect(after.authorizations.approved - before.authorizations.approved).toBe(1);
    expect(after.stored.payment_intents - before.stored.payment_intents).toBe(1);
    // And it did ask again: the restarted gateway replayed the same attempt (same key, same body), the
    // PSP answered it from its idempotency store. Nothing else runs during this test.
    expect(after.idempotent_replays - before.idempotent_replays).toBeGreaterThanOrEqual(1);
    expect(after.idempotency_conflicts - before.idempotency_conflicts).toBe(0);
    // The topic holds one outcome for the payment: the relay may publish a row twice (same event id),
    // never a second attempt or a second success.
    const published = await publishedEventsOf(paymentId);
    const distinct = (type: string) => new Set(published.filter((event) => event.type === type).map((event) => event.eventId)).size;
    expect({ attempts: distinct('payment.attempt_completed'), successes: distinct('payment.succeeded'), failures: distinct('payment.failed') }).toEqual({ attempts: 1, successes: 1, failures: 0 });
  }, 240_000);

  it('takes effect once when a stage dies right after producing its events, before committing its input offsets', async () => {
    const drillFile = join(platform.dataDir, faultDrillFileName);
    const replicas = platform.processes.filter((entry) => entry.name === 'routing').map((entry) => entry.instance);
    const pidsBefore = new Map(replicas.map((replica) => [replica, pidOf(replica)]));
    const before = await simulatorStats();
    // The routing replica that decides this payment publishes payment.routed, then SIGKILLs itself.
    writeFileSync(drillFile, JSON.stringify({ service: 'routing', fault: 'kill-after-publish' }));
    try {
      const response = await api('/v1/payments', { body: cardPayment({ amount: 4242, metadata: { drill: 'kill-after-publish' } }) });
      expect([201, 202]).toContain(response.status);
      const paymentId = response.body.id as string;
      expect(existsSync(drillFile)).toBe(false); // a routing replica claimed the drill
      const killed = await eventually(async () => {
        for (const replica of replicas) if (pidOf(replica) !== pidsBefore.get(replica) && (await healthy(replica))) return replica;
        return undefined;
      }, 60_000, 250);
      expect(killed).toBeDefined();
      const final = await eventually(async () => {
        const payment = await api(`/v1/payments/${paymentId}`);
        return payment.body.status === 'succeeded' ? payment.body : undefined;
      }, 60_000, 250);
      expect(final.attempts).toHaveLength(1);
      const events = await sql('SELECT type FROM intake.payment_events WHERE payment_id = $1 ORDER BY position', [paymentId]);
      expect(events.map((event) => event.type)).toEqual(['payment.requested', 'payment.risk_assessed', 'payment.routed', 'payment.attempt_completed', 'payment.succeeded']);
      // Routing keeps no state: the replica that took over the partition got the risk decision again
      // (the dead one never committed its offset) and published payment.routed again under the same
      // event id; every consumer after it took it once.
      const routedCopies = await eventually(async () => {
        const published = (await publishedEventsOf(paymentId)).filter((event) => event.type === 'payment.routed');
        return published.length >= 2 ? published : undefined;
      }, 30_000, 500);
      expect(new Set(routedCopies.map((event) => event.eventId)).size).toBe(1);
      const after = await simulatorStats();
      expect(after.authorizations.approved - before.authorizations.approved).toBe(1);
      expect(after.stored.payment_intents - before.stored.payment_intents).toBe(1);
      const published = await publishedEventsOf(paymentId);
      const distinct = (type: string) => new Set(published.filter((event) => event.type === type).map((event) => event.eventId)).size;
      expect({ routings: distinct('payment.routed'), attempts: distinct('payment.attempt_completed'), successes: distinct('payment.succeeded') }).toEqual({ routings: 1, attempts: 1, successes: 1 });
    } finally {
      rmSync(drillFile, { force: true });
    }
  }, 180_000);
});
