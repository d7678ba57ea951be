import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM bench module without type declarations
import { classifyPaymentAnswer, newTally, percentile, recordOutcome, summarizeWindow, sustainedRate } from './outcomes.mjs';

const answer = (status: number, body: unknown) => ({ status, headers: {}, bodyText: JSON.stringify(body) });

describe('classifying what the platform answered', () => {
  it('counts only 201 succeeded as a success, with the PSP time of its first attempt', () => {
    expect(classifyPaymentAnswer(answer(201, { status: 'succeeded', attempts: [{ latency_ms: 57, psp_processing_ms: 50.2 }] }))).toEqual({ kind: 'succeeded', pspProcessingMs: 50.2 });
  });

  it('keeps a success without a reported PSP time as a success whose overhead is unknown, never a guess', () => {
    expect(classifyPaymentAnswer(answer(201, { status: 'succeeded', attempts: [{ latency_ms: 57 }] }))).toEqual({ kind: 'succeeded', pspProcessingMs: undefined });
  });

  it('counts 202 processing as not yet succeeded', () => {
    expect(classifyPaymentAnswer(answer(202, { id: 'pay_1', status: 'processing' }))).toEqual({ kind: 'processing', paymentId: 'pay_1' });
  });

  it.each([
    [answer(201, { status: 'failed' }), '201 failed'],
    [answer(503, { error: { code: 'service_unavailable' } }), '503 service_unavailable'],
    [{ status: 502, headers: {}, bodyText: '<html>' }, '502 unreadable body'],
    [{ error: 'no answer within 10 s' }, 'no answer within 10 s'],
    [{ error: 'connection ECONNRESET' }, 'connection ECONNRESET'],
  ])('counts any other answer as a failure by its kind (%#: %s)', (given, label) => {
    expect(classifyPaymentAnswer(given)).toEqual({ kind: 'failed', label });
  });
});

describe("a load window's figures", () => {
  it('measures the achieved rate from the first scheduled request to the last answer, and keeps 202 latencies apart', () => {
    const tally = newTally();
    recordOutcome(tally, { kind: 'succeeded', pspProcessingMs: 50 }, 80, 1_080);
    recordOutcome(tally, { kind: 'succeeded', pspProcessingMs: undefined }, 90, 1_590);
    recordOutcome(tally, { kind: 'processing', paymentId: 'pay_3' }, 5_100, 2_100);
    recordOutcome(tally, { kind: 'failed', label: 'no answer within 10 s' }, 10_000, 3_000);

    const summary = summarizeWindow(tally, { offered: 4, ratePerSecond: 2, firstScheduledAt: 1_000, lastAnsweredAt: 3_000 });

    expect(summary).toMatchObject({
      offered: 4,
      succeeded: 2,
      successShare: 0.5,
      windowSeconds: 2,
      achievedRatePerSecond: 1,
      processing: { count: 1, latencyMs: { p50: 5_100 } },
      failures: { 'no answer within 10 s': 1 },
      endToEndMs: { count: 2, p50: 80, max: 90 },
      overheadMs: { count: 1, p50: 30 },
      overheadUnknown: 1,
    });
  });

  it('refuses a window whose answers do not add up to what was offered', () => {
    const tally = newTally();
    recordOutcome(tally, { kind: 'succeeded', pspProcessingMs: 50 }, 80, 1_080);
    expect(() => summarizeWindow(tally, { offered: 2, ratePerSecond: 1, firstScheduledAt: 0, lastAnsweredAt: 2_000 })).toThrow(/invariant/);
  });

  it('finds the sustained rate unchanged by a latency that stays put, and lowered by one that grows', () => {
    const scheduled = Array.from({ length: 200 }, (_, index) => index * 50); // 20/s for 10 s
    const steadyLatencyMs = 1_500;
    const growingLatencyMs = (index: number) => 100 + index * 5; // a backlog: + 1 s by the end

    expect(sustainedRate(scheduled.map((at) => at + steadyLatencyMs))).toBe(20);
    expect(sustainedRate(scheduled.map((at, index) => at + growingLatencyMs(index)))).toBeLessThan(18.5);
    expect(sustainedRate(scheduled.slice(0, 19))).toBeUndefined();
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([], 50)).toBeNaN();
  });
});
