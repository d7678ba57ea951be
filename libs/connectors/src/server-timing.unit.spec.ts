import { describe, expect, it } from 'vitest';
import { pspServerTimingMetric, serverTimingDurationMs, serverTimingLengthMax } from './server-timing';

describe('serverTimingDurationMs', () => {
  it.each([
    ['psp;dur=50.2', 50.2],
    ['psp;dur=0', 0],
    ['psp;dur=1234', 1234],
    ['psp; dur = 12.5', 12.5],
    ['psp;DUR=7.5', 7.5],
    ['psp;dur="41.0"', 41],
    ['psp;desc="PSP, processing; incl. latency";dur=60.1', 60.1],
    ['db;dur=3.1, psp;dur=52.4, app;dur=80', 52.4],
  ])('reads the PSP processing time from %j', (header, expectedMs) => {
    expect(serverTimingDurationMs(header, pspServerTimingMetric)).toBe(expectedMs);
  });

  it('reads a list split over several headers', () => {
    expect(serverTimingDurationMs(['db;dur=1', 'psp;dur=9.9'], 'psp')).toBe(9.9);
  });

  it.each([
    ['no header', undefined],
    ['another metric only', 'db;dur=3.1, app;dur=80'],
    ['a metric whose name only starts with psp', 'psp-total;dur=80'],
    ['a metric named in other case', 'PSP;dur=50'],
    ['no duration', 'psp'],
    ['a description but no duration', 'psp;desc="50"'],
    ['a duration without a value', 'psp;dur'],
    ['an empty duration', 'psp;dur='],
    ['a negative duration', 'psp;dur=-4'],
    ['a duration that is not a number', 'psp;dur=fast'],
    ['a duration with a unit', 'psp;dur=50ms'],
    ['a duration in exponent form', 'psp;dur=5e1'],
    ['an unterminated quoted duration', 'psp;dur="50'],
    ['a number too large to be finite', `psp;dur=${'9'.repeat(400)}`],
  ])('gives no figure for %s', (_case, header) => {
    expect(serverTimingDurationMs(header, 'psp')).toBeUndefined();
  });

  it('keeps the first duration of an entry, as the specification says, even when a later one is well-formed', () => {
    expect(serverTimingDurationMs('psp;dur=oops;dur=50', 'psp')).toBeUndefined();
    expect(serverTimingDurationMs('psp;dur=50;dur=70', 'psp')).toBe(50);
  });

  it('skips a malformed entry for the metric and takes a later well-formed one', () => {
    expect(serverTimingDurationMs('psp;dur=n/a, psp;dur=48.3', 'psp')).toBe(48.3);
  });

  it('does not split inside a quoted description', () => {
    expect(serverTimingDurationMs('app;desc="x, psp;dur=1", psp;dur=2', 'psp')).toBe(2);
  });

  it('ignores a header longer than it is worth parsing', () => {
    const padding = `pad;desc="${'x'.repeat(serverTimingLengthMax)}"`;
    expect(serverTimingDurationMs(`${padding}, psp;dur=50`, 'psp')).toBeUndefined();
  });
});
