// The bench's load phases against one platform: payments one after another on the idle platform, an
// open-loop window (warm-up, then measured with the platform's counters), the simulator called
// directly, and the drain that separates them.
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCompiledLib } from './compiled-libs.mjs';
import { offerOpenLoop } from './open-loop.mjs';
import { classifyPaymentAnswer, newTally, recordOutcome, round, summarize, summarizeWindow } from './outcomes.mjs';
import { costsBetween } from './platform-counters.mjs';
import { fetchPayment, sendDirect, sendPayment } from './load-client.mjs';
import { drainQuietMs, drainTimeoutMs, idleWarmupPayments } from './options.mjs';

const drainPollMs = 250;
/** Payments read back at once when settling the window's 202 answers. */
const settleConcurrency = 16;

/** `count` payments one after another (after a few unmeasured ones): latency and overhead with nothing else going on. */
export async function runIdle({ client, platform, count }) {
  for (let index = 0; index < idleWarmupPayments; index++) await sendPayment(client, platform, index);
  const tally = newTally();
  for (let index = 0; index < count; index++) {
    const startedAt = performance.now();
    const answer = await sendPayment(client, platform, index);
    const answeredAt = performance.now();
    recordOutcome(tally, classifyPaymentAnswer(answer), answeredAt - startedAt, answeredAt);
  }
  return {
    payments: count,
    succeeded: tally.succeededMs.length,
    processing: tally.processingMs.length,
    failures: tally.failures,
    endToEndMs: summarize(tally.succeededMs),
    overheadMs: summarize(tally.overheadMs),
    overheadUnknown: tally.overheadUnknown,
  };
}

/**
 * Warm-up at the rate (unmeasured), drain, then the measured window, then drain again. With
 * `counters` and `measureCosts`, the platform's counters are read at the window's start, at its last answer (rates during the load) and once the
 * platform has drained: costs per payment run from the start to the drain, so the work the window's
 * payments cause after their answer (projections, read models) counts too.
 */
export async function runLoadWindow({ client, platform, counters, measureCosts = true, ratePerSecond, warmupSeconds, seconds }) {
  const measured = measureCosts ? counters : undefined;
  if (warmupSeconds > 0) {
    await offerOpenLoop({ ratePerSecond, durationMs: warmupSeconds * 1000, send: (index) => sendPayment(client, platform, index), onAnswer: () => {} });
  }
  const drainBefore = await drain(counters);
  const before = await measured?.take();
  const tally = newTally();
  const window = await offerOpenLoop({
    ratePerSecond,
    durationMs: seconds * 1000,
    send: (index) => sendPayment(client, platform, index),
    onAnswer: (_index, answer, latencyMs, answeredAt) => recordOutcome(tally, classifyPaymentAnswer(answer), latencyMs, answeredAt),
  });
  const atLoadEnd = await measured?.take();
  const drainAfter = await drain(counters);
  const after = await measured?.take();
  const summary = summarizeWindow(tally, { offered: window.offered, ratePerSecond, firstScheduledAt: window.firstScheduledAt, lastAnsweredAt: window.lastAnsweredAt });
  if (!measured) return { ...summary, sendLagMs: summarize(window.sendLagMs), drainedBefore: drainBefore, drainedAfter: drainAfter };
  // Read after the last counters, so reading them back costs the window nothing.
  const settled = await settleProcessing(client, platform, tally.processingIds);
  const costPayments = summary.succeeded + settled.succeeded;
  return {
    ...summary,
    processing: { ...summary.processing, settledAfterDrain: settled },
    sendLagMs: summarize(window.sendLagMs),
    drainedBefore: drainBefore,
    drainedAfter: drainAfter,
    costs: { ...costsBetween(before, after, costPayments), succeededAnswered201: summary.succeeded, succeededAfter202: settled.succeeded },
    duringLoad: ratesDuringLoad(before, atLoadEnd),
  };
}

/**
 * What became of the payments answered `202 processing`, read back once the platform drained: the
 * work they caused is in the window's counters, so the ones that succeeded count when costs are
 * divided per payment (they stay failures of the window's success share). Requests that got no
 * answer at all cannot be read back (no id): if intake made payments of them, their work is in the
 * counters but not in the count, and the costs per payment come out high.
 */
async function settleProcessing(client, platform, paymentIds) {
  const statuses = {};
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(settleConcurrency, paymentIds.length) }, async () => {
    while (next < paymentIds.length) {
      const answer = await fetchPayment(client, platform, paymentIds[next++]);
      const status = answer.error ?? (answer.status === 200 ? parseStatus(answer.bodyText) : `HTTP ${answer.status}`);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }));
  return { readBack: paymentIds.length, succeeded: statuses.succeeded ?? 0, statuses };
}

function parseStatus(text) {
  try {
    return JSON.parse(text).status ?? 'no status';
  } catch {
    return 'unreadable body';
  }
}

/** What the load itself did per second, first scheduled request to last answer: broker traffic and how busy the machine was. */
function ratesDuringLoad(before, atLoadEnd) {
  const seconds = (atLoadEnd.processes.at - before.processes.at) / 1000;
  const kafka = before.kafka && atLoadEnd.kafka ? atLoadEnd.kafka.produced - before.kafka.produced + (atLoadEnd.kafka.fetched - before.kafka.fetched) : undefined;
  const busy = (atLoadEnd.processes.machineBusyTicks - before.processes.machineBusyTicks) / Math.max(1, atLoadEnd.processes.machineTotalTicks - before.processes.machineTotalTicks);
  return { seconds: round(seconds, 2), kafkaMessagesPerSecond: kafka === undefined ? undefined : Math.round(kafka / seconds), machineBusyShare: round(busy, 3) };
}

/** The simulator alone, open loop at the same rate: what one PSP call costs without the platform around it. */
export async function runDirect({ client, platform, ratePerSecond, seconds }) {
  const { pspServerTimingMetric, serverTimingDurationMs } = await requireCompiledLib('connectors');
  const latencies = [];
  const simulatorMs = [];
  const failures = {};
  const window = await offerOpenLoop({
    ratePerSecond,
    durationMs: seconds * 1000,
    send: (index) => sendDirect(client, platform, index),
    onAnswer: (_index, answer, latencyMs) => {
      if (answer.status === 200) {
        latencies.push(latencyMs);
        const reported = serverTimingDurationMs(answer.headers['server-timing'], pspServerTimingMetric);
        if (reported !== undefined) simulatorMs.push(reported);
        return;
      }
      const label = answer.error ?? `HTTP ${answer.status}`;
      failures[label] = (failures[label] ?? 0) + 1;
    },
  });
  return { ratePerSecond, offered: window.offered, succeeded: latencies.length, failures, latencyMs: summarize(latencies), simulatorReportedMs: summarize(simulatorMs) };
}

/**
 * Waits until the platform's consumer groups have committed everything produced and stayed so for
 * `drainQuietMs` (answers are all in by then: a window ends with its last answer). Without Kafka
 * counters it just waits the quiet time. Gives up after `drainTimeoutMs`, saying so.
 */
export async function drain(counters) {
  const startedAt = performance.now();
  if (!counters) {
    await sleep(drainQuietMs);
    return { drained: 'unknown (no Kafka counters)', seconds: drainQuietMs / 1000 };
  }
  let lag;
  while (performance.now() - startedAt < drainTimeoutMs) {
    lag = await counters.kafkaLag();
    if (lag === undefined) {
      await sleep(drainQuietMs);
      return { drained: 'unknown (Kafka unreadable)', seconds: round((performance.now() - startedAt) / 1000, 1) };
    }
    if (lag === 0) {
      await sleep(drainQuietMs);
      if ((await counters.kafkaLag()) === 0) return { drained: true, seconds: round((performance.now() - startedAt) / 1000, 1) };
    } else {
      await sleep(drainPollMs);
    }
  }
  return { drained: false, lag, seconds: round((performance.now() - startedAt) / 1000, 1) };
}
