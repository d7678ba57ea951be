// Open-loop merchant load for the chaos drill: a payment is started every 1/rate seconds whatever
// the answers so far (so a stall shows as a backlog, not as a slower client), and each one behaves
// as a careful merchant integration does: one Idempotency-Key per payment, retried with that same
// key on a 5xx, a reset connection or a 409 `idempotency_key_in_use`, after Retry-After.
import { setTimeout as sleep } from 'node:timers/promises';

/** How long one request may take before the client gives up on it (and retries). */
const requestTimeoutMs = 30_000;
/** How long a merchant keeps retrying one payment before it reports it as not accepted. */
const retryWindowMs = 120_000;
const retryDelayMs = 500;
const retryAfterMaxMs = 5_000;

const approvedCards = ['4242424242424242', '5555555555554444'];

/**
 * Sends payments at `ratePerSecond` from `startedAt` until `stop()`; `done()` resolves once every
 * payment started is accepted or given up on. Tallies what the merchant saw.
 */
export function offerLoad({ apiUrl, apiKey, ratePerSecond, runId }) {
  const tally = { started: 0, accepted: [], lastAcceptedAt: 0, notAccepted: 0, answered5xx: 0, resets: 0, timeouts: 0, answered4xx: 0, inUse: 0, errorCodes: {} };
  const inFlight = new Set();
  let sequence = 0;
  let stopped = false;
  const intervalMs = 1000 / ratePerSecond;
  const startedAt = performance.now();

  const ticking = (async () => {
    for (let index = 0; !stopped; index++) {
      const dueAt = startedAt + index * intervalMs;
      const waitMs = dueAt - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      if (stopped) break;
      const payment = pay(sequence++);
      inFlight.add(payment);
      void payment.finally(() => inFlight.delete(payment));
    }
  })();

  async function pay(index) {
    tally.started++;
    const key = `chaos-${runId}-${index}`;
    const body = JSON.stringify({
      amount: 1000 + (index % 500),
      currency: 'USD',
      payment_method: { type: 'card', card: { number: approvedCards[index % approvedCards.length], exp_month: 12, exp_year: new Date().getUTCFullYear() + 4, cvc: '123' } },
      description: `chaos drill payment ${index}`,
      metadata: { drill: runId },
    });
    const giveUpAt = Date.now() + retryWindowMs;
    while (Date.now() < giveUpAt) {
      const answer = await send(key, body);
      if (answer.kind === 'accepted') {
        tally.accepted.push({ id: answer.id, key, status: answer.status });
        tally.lastAcceptedAt = Date.now();
        return;
      }
      if (answer.kind === 'refused') {
        tally.answered4xx++;
        return;
      }
      await sleep(answer.retryAfterMs ?? retryDelayMs);
    }
    tally.notAccepted++;
  }

  async function send(key, body) {
    let response;
    try {
      response = await fetch(`${apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      // No answer: the connection was cut (reset, refused) or the client gave up waiting.
      const timedOut = error.name === 'TimeoutError';
      if (timedOut) tally.timeouts++;
      else tally.resets++;
      const code = timedOut ? `no answer within ${requestTimeoutMs / 1000} s` : `connection ${error.cause?.code ?? error.name}`;
      tally.errorCodes[code] = (tally.errorCodes[code] ?? 0) + 1;
      return { kind: 'retry' };
    }
    const text = await response.text().catch(() => '');
    if (response.status === 200 || response.status === 201 || response.status === 202) {
      const payment = JSON.parse(text);
      return { kind: 'accepted', id: payment.id, status: payment.status };
    }
    const retryAfterMs = Math.min(retryAfterMaxMs, Number(response.headers.get('retry-after') ?? 0) * 1000) || undefined;
    if (response.status >= 500) {
      tally.answered5xx++;
      const code = `${response.status} ${errorCodeOf(text)}`;
      tally.errorCodes[code] = (tally.errorCodes[code] ?? 0) + 1;
      return { kind: 'retry', retryAfterMs };
    }
    if (response.status === 409) {
      tally.inUse++;
      return { kind: 'retry', retryAfterMs };
    }
    return { kind: 'refused', status: response.status, text };
  }

  return {
    tally,
    stop: () => {
      stopped = true;
      return ticking;
    },
    done: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      return tally;
    },
  };
}

function errorCodeOf(text) {
  try {
    return JSON.parse(text).error?.code ?? 'no error code';
  } catch {
    return 'not JSON';
  }
}
