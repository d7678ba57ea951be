import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM bench module without type declarations
import { offerOpenLoop } from './open-loop.mjs';

describe('open-loop load', () => {
  it('keeps sending on schedule while no answer has come back, and times each answer from its scheduled moment', async () => {
    const stallMs = 300;
    let sent = 0;
    let sentBeforeFirstAnswer: number | undefined;
    const latencies: number[] = [];

    const window = await offerOpenLoop({
      ratePerSecond: 100,
      durationMs: 200,
      send: () => {
        sent++;
        return new Promise((resolve) => setTimeout(() => resolve({ status: 201 }), stallMs));
      },
      onAnswer: (_index: number, _answer: unknown, latencyMs: number) => {
        sentBeforeFirstAnswer ??= sent;
        latencies.push(latencyMs);
      },
    });

    expect(window.offered).toBe(20);
    expect(sentBeforeFirstAnswer).toBe(20); // a closed loop would have waited for the first answer
    expect(latencies).toHaveLength(20);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(stallMs - 2);
    expect(window.lastAnsweredAt - window.firstScheduledAt).toBeGreaterThanOrEqual(190 + stallMs - 2);
  });

  it('sends every request that fell due while the generator was stalled, at once, and counts the stall as their latency', async () => {
    const latencies: number[] = [];
    const loop = offerOpenLoop({
      ratePerSecond: 1_000,
      durationMs: 50,
      send: () => Promise.resolve({ status: 201 }),
      onAnswer: (_index: number, _answer: unknown, latencyMs: number) => latencies.push(latencyMs),
    });
    const stalledUntil = performance.now() + 60;
    while (performance.now() < stalledUntil); // the generator's event loop blocked past the whole window

    const window = await loop;

    expect(window.offered).toBe(50);
    expect(latencies).toHaveLength(50);
    expect(Math.max(...window.sendLagMs)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...latencies)).toBeGreaterThanOrEqual(20);
  });
});
