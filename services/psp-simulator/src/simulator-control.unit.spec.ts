import { describe, expect, it } from 'vitest';
import { applyControlUpdate, initialControl, pickFault } from './simulator-control';

describe('simulator control', () => {
  it('changes only the fields a drill sends', () => {
    const update = applyControlUpdate(initialControl(10), { error_rate: 0.25 });
    expect(update).toEqual({ ok: true, control: { latencyMs: 10, errorRate: 0.25, timeoutRate: 0, outage: false } });
  });

  it.each([
    [{ latency_ms: -1 }, /latency_ms/],
    [{ latency_ms: 60_001 }, /latency_ms/],
    [{ latency_ms: 1.5 }, /latency_ms/],
    [{ error_rate: 1.1 }, /error_rate/],
    [{ timeout_rate: '0.5' }, /timeout_rate/],
    [{ outage: 'yes' }, /outage/],
    [{ error_rate: 0.6, timeout_rate: 0.6 }, /must not exceed 1/],
    [{ latency: 5 }, /Unknown field/],
    [[1], /JSON object/],
  ])('rejects %j as a whole', (body, message) => {
    const update = applyControlUpdate(initialControl(0), body);
    expect(update.ok).toBe(false);
    expect(update.ok ? '' : update.message).toMatch(message);
  });

  it('splits one uniform draw into error, then timeout, then normal answers', () => {
    const control = { ...initialControl(0), errorRate: 0.2, timeoutRate: 0.3 };
    expect(pickFault(control, 0.1)).toBe('error');
    expect(pickFault(control, 0.2)).toBe('timeout');
    expect(pickFault(control, 0.49)).toBe('timeout');
    expect(pickFault(control, 0.5)).toBe('none');
  });
});
