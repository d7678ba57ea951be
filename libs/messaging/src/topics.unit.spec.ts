import { describe, expect, it } from 'vitest';
import { paymentEventsTopic, platformTopics, stageTopicsByEventType, topicsFor } from './topics';

describe('which topics a payment-event consumer reads', () => {
  it('reads its stage topic when every event type it acts on has one', () => {
    expect(topicsFor(new Set(['payment.requested']))).toEqual(['dirigen.payment-requested.v1']);
    expect(topicsFor(new Set(['payment.risk_assessed']))).toEqual(['dirigen.payment-risk-assessed.v1']);
    expect(topicsFor(new Set(['payment.routed']))).toEqual(['dirigen.payment-routed.v1']);
  });

  it('reads the full log when any event type it wants has no stage topic (a projection), or when it names none', () => {
    expect(topicsFor(new Set(['payment.routed', 'payment.succeeded']))).toEqual([paymentEventsTopic.name]);
    expect(topicsFor(new Set())).toEqual([paymentEventsTopic.name]);
  });

  it('provisions every stage topic with the log, partitioned alike so one payment keeps to one partition number everywhere', () => {
    for (const topic of Object.values(stageTopicsByEventType)) {
      expect(platformTopics).toContain(topic);
      expect(topic.partitions).toBe(paymentEventsTopic.partitions);
    }
  });
});
