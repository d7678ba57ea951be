import { Client } from 'pg';
import type { Logger } from '@dirigen/observability';
import type { Payment } from '@dirigen/payments';

export const paymentUpdatesChannel = 'dirigen_payment_updates';

/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more; a larger payment is announced by id alone. */
const notificationPayloadBytesMax = 7_900;

/**
 * A notification's payload: the payment id, then (when it fits) a space and the payment as
 * committed, so the request waiting for it answers without reading it back.
 */
export function notificationPayload(payment: Payment): string {
  const withPayment = `${payment.id} ${JSON.stringify(payment)}`;
  return Buffer.byteLength(withPayment) < notificationPayloadBytesMax ? withPayment : payment.id;
}

/** Requests waiting at once on one replica; beyond it a request answers 202 at once. */
export const waitersMax = 10_000;
const reconnectDelayMs = 1_000;

/**
 * Lets a request wait for its payment's outcome. The projection (on whichever intake replica
 * consumes the partition) commits the new state and `NOTIFY`s; every replica `LISTEN`s, so the
 * outcome reaches the replica holding the request, whichever one that is.
 */
export class PaymentWaiter {
  private readonly waiters = new Map<string, Set<(payment: Payment | undefined) => void>>();
  private waiting = 0;
  private client: Client | undefined;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl, application_name: 'intake-waiter' });
    client.on('notification', (message) => this.wake(message.payload ?? ''));
    let lost = false;
    const reconnect = (reason: unknown) => {
      if (lost) return;
      lost = true;
      this.client = undefined;
      // Requests waiting now may miss their outcome's notification: they answer when their budget ends.
      if (this.stopped) return;
      this.logger.warn({ err: reason }, 'payment waiter connection lost, reconnecting');
      this.reconnectLater();
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect(new Error('connection ended')));
    await client.connect();
    await client.query(`LISTEN ${paymentUpdatesChannel}`);
    this.client = client;
  }

  /** Tries again every `reconnectDelayMs` for as long as the database is away. */
  private reconnectLater(): void {
    setTimeout(() => {
      if (this.stopped) return;
      this.start().catch(() => this.reconnectLater());
    }, reconnectDelayMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.waiters.keys()]) this.wake(id);
    await this.client?.end().catch(() => undefined);
  }

  /**
   * Registers interest in `paymentId` before its events can be published; the returned `wait`
   * resolves on the next update or after `budgetMs`, whichever comes first: with the payment as
   * the update committed it when the notification carried it, else undefined (read it then).
   */
  register(paymentId: string): { wait: (budgetMs: number) => Promise<Payment | undefined>; cancel: () => void } {
    if (this.waiting >= waitersMax || !this.client) return { wait: async () => undefined, cancel: () => undefined };
    let resolveNotified: (payment: Payment | undefined) => void = () => undefined;
    const notified = new Promise<Payment | undefined>((resolve) => {
      resolveNotified = resolve;
    });
    let released = false;
    const release = (payment: Payment | undefined) => {
      if (released) return;
      released = true;
      this.waiting--;
      resolveNotified(payment);
    };
    this.waiting++;
    const set = this.waiters.get(paymentId) ?? new Set();
    set.add(release);
    this.waiters.set(paymentId, set);
    const cancel = () => {
      set.delete(release);
      if (set.size === 0) this.waiters.delete(paymentId);
      release(undefined);
    };
    return {
      cancel,
      wait: async (budgetMs) => {
        const timer = setTimeout(cancel, budgetMs);
        const payment = await notified;
        clearTimeout(timer);
        cancel();
        return payment;
      },
    };
  }

  /** A notification (`notificationPayload`): wakes the requests waiting for that payment, if any are on this replica. */
  private wake(payload: string): void {
    const space = payload.indexOf(' ');
    const paymentId = space < 0 ? payload : payload.slice(0, space);
    const set = this.waiters.get(paymentId);
    if (!set) return;
    this.waiters.delete(paymentId);
    const payment = space < 0 ? undefined : (JSON.parse(payload.slice(space + 1)) as Payment);
    for (const release of set) release(payment);
  }
}
