// What each answer of a load window was (succeeded, still processing, refused, failed, no answer) and the
// window's figures: offered and achieved rate, success share, latency and overhead percentiles.

/**
 * One answer of `POST /v1/payments` in our terms. `201 succeeded` is the only success; `202 processing`
 * (intake stopped waiting for the outcome) is not a success yet; anything else is a failure by kind.
 * The overhead needs the PSP's own processing time (`attempts[0].psp_processing_ms`): never guessed.
 */
export function classifyPaymentAnswer(answer) {
  if (answer.error) return { kind: 'failed', label: answer.error };
  const payment = parseJson(answer.bodyText);
  if (answer.status === 201 && payment?.status === 'succeeded') {
    const pspProcessingMs = payment.attempts?.[0]?.psp_processing_ms;
    return { kind: 'succeeded', pspProcessingMs: typeof pspProcessingMs === 'number' ? pspProcessingMs : undefined };
  }
  if (answer.status === 202 && payment?.status === 'processing') return { kind: 'processing', paymentId: payment.id };
  return { kind: 'failed', label: `${answer.status} ${payment?.status ?? payment?.error?.code ?? 'unreadable body'}` };
}

export function newTally() {
  return { succeededMs: [], succeededAt: [], overheadMs: [], overheadUnknown: 0, processingMs: [], processingIds: [], failures: {} };
}

/** Adds one classified answer that came at `answeredAt`, `latencyMs` after its scheduled moment. */
export function recordOutcome(tally, outcome, latencyMs, answeredAt) {
  switch (outcome.kind) {
    case 'succeeded':
      tally.succeededMs.push(latencyMs);
      tally.succeededAt.push(answeredAt);
      if (outcome.pspProcessingMs === undefined) tally.overheadUnknown++;
      else tally.overheadMs.push(latencyMs - outcome.pspProcessingMs);
      return;
    case 'processing':
      tally.processingMs.push(latencyMs);
      if (outcome.paymentId) tally.processingIds.push(outcome.paymentId);
      return;
    case 'failed':
      tally.failures[outcome.label] = (tally.failures[outcome.label] ?? 0) + 1;
      return;
    default:
      throw new Error(`invariant: unknown outcome kind ${outcome.kind}`);
  }
}

/**
 * The window's figures. `offered`: requests scheduled. The achieved rate is succeeded payments per
 * second from the first scheduled request to the last answer (so a backlog that drains late lowers it,
 * and so does the last answer's latency: a 300 ms answer costs a 15 s window 2 %). The sustained rate
 * is the rate succeeded answers came at between the 10th and the 90th percentile answer: a latency
 * that stays put cancels out of it, a latency that grows through the window (a backlog) lowers it.
 */
export function summarizeWindow(tally, { offered, ratePerSecond, firstScheduledAt, lastAnsweredAt }) {
  const succeeded = tally.succeededMs.length;
  const windowSeconds = Math.max(0, lastAnsweredAt - firstScheduledAt) / 1000;
  const failed = Object.values(tally.failures).reduce((sum, count) => sum + count, 0);
  if (succeeded + tally.processingMs.length + failed !== offered) {
    throw new Error(`invariant: ${offered} offered but ${succeeded + tally.processingMs.length + failed} answers classified`);
  }
  return {
    offered,
    offeredRatePerSecond: ratePerSecond,
    windowSeconds: round(windowSeconds, 2),
    achievedRatePerSecond: windowSeconds > 0 ? round(succeeded / windowSeconds, 1) : 0,
    sustainedRatePerSecond: sustainedRate(tally.succeededAt),
    succeeded,
    successShare: offered > 0 ? round(succeeded / offered, 4) : 0,
    processing: { count: tally.processingMs.length, latencyMs: summarize(tally.processingMs) },
    failures: tally.failures,
    endToEndMs: summarize(tally.succeededMs),
    overheadMs: summarize(tally.overheadMs),
    overheadUnknown: tally.overheadUnknown,
  };
}

/** Fewer succeeded answers than this give no sustained rate: ten percent of them would be no one. */
const sustainedRateAnswersMin = 20;

/** Succeeded answers per second between the 10th and 90th percentile answer times; undefined for too few answers. */
export function sustainedRate(answeredAt) {
  if (answeredAt.length < sustainedRateAnswersMin) return undefined;
  const sorted = [...answeredAt].sort((a, b) => a - b);
  const first = Math.ceil(0.1 * sorted.length) - 1;
  const last = Math.ceil(0.9 * sorted.length) - 1;
  const seconds = (sorted[last] - sorted[first]) / 1000;
  return seconds > 0 ? round((last - first) / seconds, 1) : undefined;
}

/** Nearest-rank percentile of an ascending list; NaN for an empty one. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50), 1),
    p95: round(percentile(sorted, 95), 1),
    p99: round(percentile(sorted, 99), 1),
    max: round(sorted.at(-1) ?? NaN, 1),
  };
}

export function round(value, decimals) {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
