import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { applyKafkajsRequestQueueFix } from './kafkajs-request-queue-fix';

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  destroy(): void;
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function newQueue(): RequestQueue {
  applyKafkajsRequestQueueFix();
  const RequestQueueClass = createRequire(`${process.cwd()}/`)('kafkajs/src/network/requestQueue') as new (options: object) => RequestQueue;
  return new RequestQueueClass({ maxInFlightRequests: 1, requestTimeout: 1_000, enforceRequestTimeout: false, clientId: 'spec', broker: 'spec:9092', logger: silent });
}

/** Checks a throttled queue (so nothing pending is sent) and answers whether a timer was armed, then disarms it. */
function checkSchedulesTimer(queue: RequestQueue): boolean {
  queue.throttledUntil = Date.now() + 50;
  queue.checkPendingRequests();
  const armed = queue.throttleCheckTimeoutId !== null;
  clearTimeout(queue.throttleCheckTimeoutId ?? undefined);
  queue.pending.length = 0;
  return armed;
}

describe('the kafkajs request queue fix (tulios/kafkajs#1556)', () => {
  it('arms no timer after a check that found nothing pending and no throttle (kafkajs 2.2.4 re-arms a 1 ms timer forever)', () => {
    const queue = newQueue();
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still schedules a check while the broker throttles the connection', () => {
    expect(checkSchedulesTimer(newQueue())).toBe(true);
  });

  it('still schedules a check while requests wait in the throttled queue', () => {
    const queue = newQueue();
    queue.pending.push({ correlationId: 1 });
    expect(checkSchedulesTimer(queue)).toBe(true);
  });
});
