import { createRequire } from 'node:module';

/** The part of kafkajs 2.2.4's internal RequestQueue the fix touches. */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
}

const fixed = Symbol.for('dirigen.kafkajs.requestQueueFix');

/**
 * kafkajs 2.2.4 (the last release; we pin it) re-arms a `setTimeout` of a negative delay — so
 * 1 ms — after every check of a connection's request queue, even when nothing is pending and no
 * throttle is in force: once a connection has queued a request, it wakes its process every
 * millisecond forever (tulios/kafkajs#1556, fix proposed in #1667 and #1768, never released).
 * Measured here: ~1,150 event-loop wake-ups a second in every idle service, ~0.3 of this
 * 2-core machine's CPU for the whole platform at rest.
 *
 * The fix skips scheduling when there is nothing to check: no pending request and no throttle.
 * A request that arrives later is sent at once or, if it has to queue, schedules its own check
 * (`push`), and a finished in-flight request checks the queue too, so no request waits for the
 * skipped timer. Applied once, to kafkajs' prototype, when this module is loaded.
 */
export function applyKafkajsRequestQueueFix(): void {
  // __filename in the compiled CommonJS; vitest's module runner may not define it.
  const require = createRequire(typeof __filename === 'string' ? __filename : `${process.cwd()}/`);
  const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueInternals & { [fixed]?: true } };
  const prototype = RequestQueue.prototype;
  if (prototype[fixed]) return;
  const original = prototype.scheduleCheckPendingRequests;
  if (typeof original !== 'function') throw new Error('invariant: kafkajs RequestQueue.scheduleCheckPendingRequests is gone; revisit the fix for kafkajs#1556');
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.pending.length === 0 && !(this.throttledUntil > Date.now())) return;
    original.call(this);
  };
  prototype[fixed] = true;
}

applyKafkajsRequestQueueFix();
