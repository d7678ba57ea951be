// Open-loop load: request i leaves at t0 + i/rate whatever the answers so far, and its latency runs
// from that scheduled moment, so a stalled server (or a stalled generator) shows up as latency.

/** The first request leaves this long after the call, so setting up never eats into its schedule. */
const startDelayMs = 20;

/**
 * Offers `ratePerSecond` for `durationMs`: a timer wakes at the next due time and sends every request
 * that is due (catching up after a stall, never skipping one), never waiting for answers. `send(index)`
 * resolves with an answer and never rejects; `onAnswer(index, answer, latencyMs, answeredAt)` sees each one.
 * Resolves when every request sent has been answered (each has its own deadline), with the window:
 * `{ offered, firstScheduledAt, lastAnsweredAt, sendLagMs }` (`sendLagMs`: how late each request left).
 */
export function offerOpenLoop({ ratePerSecond, durationMs, send, onAnswer }) {
  const intervalMs = 1000 / ratePerSecond;
  const offered = Math.max(1, Math.round((durationMs / 1000) * ratePerSecond));
  const firstScheduledAt = performance.now() + startDelayMs;
  const sendLagMs = [];
  let next = 0;
  let answered = 0;
  let lastAnsweredAt = firstScheduledAt;
  return new Promise((resolve) => {
    const dueAt = (index) => firstScheduledAt + index * intervalMs;
    const fire = (index) => {
      const scheduledAt = dueAt(index);
      sendLagMs.push(performance.now() - scheduledAt);
      send(index).then((answer) => {
        const now = performance.now();
        lastAnsweredAt = Math.max(lastAnsweredAt, now);
        onAnswer(index, answer, now - scheduledAt, now);
        if (++answered === offered) resolve({ offered, firstScheduledAt, lastAnsweredAt, sendLagMs });
      });
    };
    const tick = () => {
      const now = performance.now();
      while (next < offered && dueAt(next) <= now) fire(next++);
      if (next < offered) setTimeout(tick, Math.max(0, dueAt(next) - performance.now()));
    };
    setTimeout(tick, startDelayMs);
  });
}
