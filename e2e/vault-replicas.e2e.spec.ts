import { describe, expect, it } from 'vitest';
import { api, type ApiResponse, cardPayment, eventually, platform, testCards } from './support/api';
import { instancesOf, pidOf, restarted } from './support/processes';

// The vault runs as replicas over one database (npm start runs two): a payment's security code is held
// encrypted in the vault schema, not in the memory of the replica that took it, and intake and the
// gateway balance over every replica and retry an idempotent call on another one. So kill -9 of a
// vault replica while payments flow fails none of them; the supervisor restarts it and it serves again.

const paymentsTotal = 100;
const paymentsPerSecond = 20;
/** The replica dies this far into the run, with payments in flight on both sides of it. */
const killAtPayment = 30;
const savedCardsCount = 5;

/** Calls served by a vault replica since it started, from its own /metrics. */
async function vaultCallsServed(instance: string): Promise<number> {
  const entry = platform.processes.find((candidate) => candidate.instance === instance)!;
  const metrics = await (await fetch(`http://127.0.0.1:${entry.port}/metrics`)).text();
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('dirigen_vault_calls_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** A saved card already used once (on file): each payment with it gives its security code, which the vault holds for that payment. */
async function cardOnFile(): Promise<string> {
  const saved = await api('/v1/tokens', { body: { card: { number: testCards.mastercard, exp_month: 11, exp_year: 2031, cvc: '321' } } });
  expect(saved.status).toBe(201);
  expect((await api('/v1/payments', { body: { amount: 500, currency: 'USD', payment_method: { type: 'card', token: saved.body.id } } })).body.status).toBe('succeeded');
  return saved.body.id as string;
}

/** Every other payment a new card (its code held from tokenization), the rest a saved card with the code given at payment time. */
function paymentBody(index: number, savedCards: string[]) {
  if (index % 2 === 0) return cardPayment({ metadata: { drill: 'vault-replica-kill', index: String(index) } });
  return { amount: 1200, currency: 'USD', payment_method: { type: 'card', token: savedCards[index % savedCards.length], cvc: '456' }, metadata: { drill: 'vault-replica-kill', index: String(index) } };
}

describe('vault replicas', () => {
  it('fail no payment when one vault replica is killed (kill -9) while payments flow, and the restarted replica serves again', async () => {
    const replicas = instancesOf('tokenization');
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    const savedCards = await Promise.all(Array.from({ length: savedCardsCount }, () => cardOnFile()));
    // Both replicas serve: the load is spread, so the one killed has calls in flight.
    for (const replica of replicas) expect(await vaultCallsServed(replica), replica).toBeGreaterThan(0);

    const victim = replicas[0]!;
    const victimPid = pidOf(victim);
    const answers: Promise<ApiResponse>[] = [];
    const startedAt = Date.now();
    for (let index = 0; index < paymentsTotal; index++) {
      // Open loop: each payment starts on schedule, whether or not earlier ones have answered.
      const dueAt = startedAt + (index * 1000) / paymentsPerSecond;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())));
      if (index === killAtPayment) process.kill(victimPid, 'SIGKILL');
      answers.push(api('/v1/payments', { body: paymentBody(index, savedCards) }));
    }
    const responses = await Promise.all(answers);

    const outcomes = responses.map((response) => `${response.status} ${response.body.status ?? response.body.error?.code} ${response.body.failure_code ?? ''}`.trim());
    expect(outcomes.filter((outcome) => outcome !== '201 succeeded')).toEqual([]);
    expect(responses.flatMap((response) => response.body.attempts ?? []).filter((attempt: { failure_code?: string }) => attempt.failure_code)).toEqual([]);

    // The supervisor restarts it, as Kubernetes would; the callers reconnect and send it calls again.
    await restarted(victim, victimPid);
    await eventually(async () => {
      const paid = await api('/v1/payments', { body: paymentBody(1, savedCards) });
      expect(paid.body.status).toBe('succeeded');
      return (await vaultCallsServed(victim)) > 0 ? true : undefined;
    }, 30_000, 250);
  }, 180_000);
});
