import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM bench module without type declarations
import { findMaxRate, isGoodStep } from './find-max.mjs';

/** A platform that keeps up with anything up to `capacity` payments per second, and with nothing beyond. */
function platformWithCapacity(capacity: number) {
  const offered: number[] = [];
  const measureStep = async (rate: number) => {
    offered.push(rate);
    const keepsUp = rate <= capacity;
    return { offeredRatePerSecond: rate, successShare: keepsUp ? 1 : 0.9, sustainedRatePerSecond: keepsUp ? rate : capacity };
  };
  return { offered, measureStep };
}

describe('finding the highest rate the platform keeps up with', () => {
  it('steps up by half each time, then bisects three times between the last good and the first bad rate', async () => {
    const platform = platformWithCapacity(57);

    const result = await findMaxRate({ startRate: 20, measureStep: platform.measureStep });

    expect(platform.offered).toEqual([20, 30, 45, 67.5, 56.3, 61.9, 59.1]);
    expect(result).toMatchObject({ highestGoodRate: 56.3, lowestBadRate: 59.1 });
    expect(result.steps.map((step: { good: boolean }) => step.good)).toEqual([true, true, true, false, true, false, false]);
  });

  it('bisects down from zero when even the first rate is too much', async () => {
    const platform = platformWithCapacity(30);

    const result = await findMaxRate({ startRate: 100, measureStep: platform.measureStep });

    expect(platform.offered).toEqual([100, 50, 25, 37.5]);
    expect(result).toMatchObject({ highestGoodRate: 25, lowestBadRate: 37.5 });
  });

  it('reports no good rate when none was', async () => {
    const result = await findMaxRate({ startRate: 1, measureStep: platformWithCapacity(0).measureStep });

    expect(result.highestGoodRate).toBeUndefined();
  });
});

describe('a good step', () => {
  it.each([
    [{ offeredRatePerSecond: 100, successShare: 0.999, sustainedRatePerSecond: 98, achievedRatePerSecond: 90 }, true],
    [{ offeredRatePerSecond: 100, successShare: 0.998, sustainedRatePerSecond: 100, achievedRatePerSecond: 100 }, false],
    [{ offeredRatePerSecond: 100, successShare: 1, sustainedRatePerSecond: 97.9, achievedRatePerSecond: 100 }, false],
    [{ offeredRatePerSecond: 100, successShare: 1, sustainedRatePerSecond: undefined, achievedRatePerSecond: 100 }, false],
  ])('needs 99.9 %% succeeded and answers sustained at 98 %% of the offered rate, whatever the last answer latency (%#)', (summary, good) => {
    expect(isGoodStep(summary)).toBe(good);
  });
});
