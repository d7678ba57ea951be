// `--find-max`: the highest offered rate the platform keeps up with, found by stepping the rate up,
// then bisecting between the last good and the first bad rate.
import { achievedShareMin, bisectionSteps, rateGrowthFactor, stepsUpMax, successShareMin } from './options.mjs';

/**
 * A step is good when nearly every payment succeeded and the platform answered them as fast as they
 * came: the sustained rate (outcomes.mjs) reached `achievedShareMin` of the offered one. Not the
 * achieved rate: that one runs from the first scheduled request to the last answer, so one answer's
 * latency alone lowers it, and a step of S seconds would fail for any last latency above about
 * (1 − achievedShareMin) × S, 0.16 s for 8 s steps, whatever the rate: the search would find the
 * rate at which latency stays below that, not the rate the platform keeps up with. A backlog still
 * fails a step: its latency grows through the window and lowers the sustained rate, and past intake's
 * 5 s wait its payments answer 202 and lower the success share.
 */
export function isGoodStep(summary) {
  return (
    summary.successShare >= successShareMin &&
    summary.sustainedRatePerSecond !== undefined &&
    summary.sustainedRatePerSecond >= achievedShareMin * summary.offeredRatePerSecond
  );
}

/**
 * Offers `startRate`, then `rateGrowthFactor` times the last good rate until a step is bad (at most
 * `stepsUpMax` steps up), then `bisectionSteps` steps halving the interval between the last good rate
 * (0 when even the first was bad) and the first bad one. `measureStep(rate)` resolves with the step's
 * window summary. Resolves with the highest good rate (undefined when none was), the lowest bad
 * one (undefined when it never found one) and every step in order.
 */
export async function findMaxRate({ startRate, measureStep }) {
  const steps = [];
  const step = async (ratePerSecond) => {
    const summary = await measureStep(ratePerSecond);
    const good = isGoodStep(summary);
    steps.push({ ratePerSecond, good, summary });
    return good;
  };
  let lastGood;
  let firstBad;
  let rate = startRate;
  for (let up = 0; up < stepsUpMax && firstBad === undefined; up++) {
    if (await step(rate)) {
      lastGood = rate;
      rate = roundRate(rate * rateGrowthFactor);
    } else {
      firstBad = rate;
    }
  }
  if (firstBad === undefined) return { highestGoodRate: lastGood, lowestBadRate: undefined, steps };
  let low = lastGood ?? 0;
  let high = firstBad;
  for (let bisection = 0; bisection < bisectionSteps; bisection++) {
    const middle = roundRate((low + high) / 2);
    if (middle <= low || middle >= high) break; // the interval is down to the rounding
    if (await step(middle)) low = middle;
    else high = middle;
  }
  return { highestGoodRate: low > 0 ? low : undefined, lowestBadRate: high, steps };
}

/** Rates to a tenth of a payment per second: finer would not be measurable in a window of seconds. */
function roundRate(rate) {
  return Math.round(rate * 10) / 10;
}
