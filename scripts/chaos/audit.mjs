// What the chaos drill checks after each fault: every accepted payment final, and the PSP's own
// ledger (the simulator's PaymentIntents, listed as Stripe lists them) agreeing with ours: one
// charge per succeeded payment, none for anything else.
import { setTimeout as sleep } from 'node:timers/promises';

const finalStatuses = new Set(['succeeded', 'failed', 'canceled', 'requires_capture']);
/** PaymentIntent statuses that mean the card was authorized (charged, or held for capture). */
const chargedStatuses = new Set(['succeeded', 'requires_capture']);
const pollIntervalMs = 500;
const pollConcurrencyMax = 16;
const simulatorPageSize = 100;
const simulatorKey = 'sk_test_dirigen_chaos_audit';

/**
 * Polls the payments that are not final yet until they are, or `deadline` (epoch ms) passes.
 * Resolves with `id → { status, failureCode }` for every id, final or as last seen.
 */
export async function awaitFinal({ apiUrl, apiKey, ids, deadline }) {
  const seen = new Map(ids.map((id) => [id, { status: 'unknown' }]));
  for (;;) {
    const pending = [...seen].filter(([, payment]) => !finalStatuses.has(payment.status)).map(([id]) => id);
    if (pending.length === 0) return { payments: seen, finalAt: Date.now() };
    if (Date.now() > deadline) return { payments: seen, finalAt: undefined };
    for (let start = 0; start < pending.length; start += pollConcurrencyMax) {
      await Promise.all(
        pending.slice(start, start + pollConcurrencyMax).map(async (id) => {
          const payment = await getPayment(apiUrl, apiKey, id);
          if (payment) seen.set(id, { status: payment.status, failureCode: payment.failure_code ?? undefined });
        }),
      );
    }
    await sleep(pollIntervalMs);
  }
}

async function getPayment(apiUrl, apiKey, id) {
  try {
    const response = await fetch(`${apiUrl}/v1/payments/${id}`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined; // the platform is still recovering: ask again next round
  }
}

/** Every PaymentIntent the simulator holds whose metadata names this drill round: `paymentId → [intent]`. */
export async function pspCharges({ simulatorUrl, drill }) {
  const byPayment = new Map();
  let startingAfter;
  for (;;) {
    const query = new URLSearchParams({ limit: String(simulatorPageSize), ...(startingAfter ? { starting_after: startingAfter } : {}) });
    const response = await fetch(`${simulatorUrl}/v1/payment_intents?${query}`, { headers: { authorization: `Bearer ${simulatorKey}` } });
    if (!response.ok) throw new Error(`the simulator refused to list PaymentIntents: ${response.status} ${await response.text()}`);
    const page = await response.json();
    for (const intent of page.data) {
      if (intent.metadata?.drill !== drill || !chargedStatuses.has(intent.status)) continue;
      const paymentId = intent.metadata.dirigen_payment_id;
      byPayment.set(paymentId, [...(byPayment.get(paymentId) ?? []), intent.id]);
    }
    if (!page.has_more) return byPayment;
    startingAfter = page.data.at(-1).id;
  }
}

export async function simulatorStats(simulatorUrl) {
  return (await fetch(`${simulatorUrl}/_sim/stats`)).json();
}

/**
 * The round's verdict from what the merchant saw (`tally`), the payments' final states and the
 * PSP's charges. Every figure the drill prints comes from here.
 */
export function judge({ tally, payments, finalAt, charges, statsBefore, statsAfter, databaseKilled }) {
  const statuses = [...payments.values()];
  const succeededIds = new Set([...payments].filter(([, payment]) => payment.status === 'succeeded' || payment.status === 'requires_capture').map(([id]) => id));
  const chargeCount = [...charges.values()].reduce((sum, intents) => sum + intents.length, 0);
  const failures = statuses.filter((payment) => payment.status === 'failed').map((payment) => payment.failureCode ?? 'unknown');
  // A held security code lives in an UNLOGGED table (never in the WAL: PCI DSS 3.3.1), so a PostgreSQL crash
  // loses the codes of payments not yet authorized; they fail closed with cvc_expired. Expected then, and only then.
  const codesLostWithDatabase = databaseKilled ? failures.filter((code) => code === 'cvc_expired').length : 0;
  const figures = {
    started: tally.started,
    accepted: tally.accepted.length,
    notAccepted: tally.notAccepted,
    refused4xx: tally.answered4xx,
    final: statuses.filter((payment) => finalStatuses.has(payment.status)).length,
    succeeded: succeededIds.size,
    codesLostWithDatabase,
    failureCodes: countBy(failures),
    pspCharges: chargeCount,
    pspApprovedDelta: statsAfter.authorizations.approved - statsBefore.authorizations.approved,
    idempotencyConflicts: statsAfter.idempotency_conflicts - statsBefore.idempotency_conflicts,
    // Which request parameters differed in those conflicts (names only), summed since the simulator started.
    conflictParameters: statsAfter.idempotency_conflict_parameters,
    idempotentReplays: statsAfter.idempotent_replays - statsBefore.idempotent_replays,
    paymentsChargedTwice: [...charges.values()].filter((intents) => intents.length > 1).length,
    chargesWithoutSuccess: [...charges].filter(([paymentId]) => !succeededIds.has(paymentId)).reduce((sum, [, intents]) => sum + intents.length, 0),
    answered5xx: tally.answered5xx,
    errorCodes: tally.errorCodes,
    resets: tally.resets,
    timeouts: tally.timeouts,
    inUse409: tally.inUse,
    allFinal: finalAt !== undefined,
  };
  const problems = [];
  if (figures.notAccepted > 0) problems.push(`${figures.notAccepted} payments never accepted within the retry window`);
  if (figures.refused4xx > 0) problems.push(`${figures.refused4xx} valid payments refused with a 4xx`);
  if (!figures.allFinal) problems.push(`${figures.accepted - figures.final} accepted payments not final in time`);
  const unexplained = figures.accepted - figures.succeeded - codesLostWithDatabase;
  if (unexplained !== 0) problems.push(`${unexplained} accepted payments did not succeed (${JSON.stringify(figures.failureCodes)})`);
  if (figures.idempotencyConflicts !== 0) problems.push(`${figures.idempotencyConflicts} PSP idempotency conflicts (parameters that differed, so far: ${JSON.stringify(figures.conflictParameters)})`);
  if (figures.paymentsChargedTwice !== 0) problems.push(`${figures.paymentsChargedTwice} payments charged more than once`);
  if (figures.chargesWithoutSuccess !== 0) problems.push(`${figures.chargesWithoutSuccess} PSP charges without a succeeded payment`);
  if (figures.pspCharges !== figures.succeeded) problems.push(`${figures.pspCharges} PSP charges for ${figures.succeeded} succeeded payments`);
  return { figures, problems };
}

function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
