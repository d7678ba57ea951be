import { Client } from 'pg';
import type { Logger } from '@dirigen/observability';

export const paymentUpdatesChannel = 'dirigen_payment_updates';

/** Requests waiting at once on one replica; beyond it a request answers 202 at once. */
export const waitersMax = 10_000;
const reconnectDelayMs = 1_000;

/**
 * Lets a request wait for its payment's outcome. The projection (on whichever intake replica
 * consumes the partition) commits the new state and `NOTIFY`s; every replica `LISTEN`s, so the
 * outcome reaches the replica holding the request, whichever one that is.
 */
export class PaymentWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
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
   * resolves on the next update or after `budgetMs`, whichever comes first.
   */
  register(paymentId: string): { wait: (budgetMs: number) => Promise<void>; cancel: () => void } {
    if (this.waiting >= waitersMax || !this.client) return { wait: async () => undefined, cancel: () => undefined };
    let resolveNotified: () => void = () => undefined;
    const notified = new Promise<void>((resolve) => {
      resolveNotified = resolve;
    });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.waiting--;
      resolveNotified();
    };
    this.waiting++;
    const set = this.waiters.get(paymentId) ?? new Set();
    set.add(release);
    this.waiters.set(paymentId, set);
    const cancel = () => {
      set.delete(release);
      if (set.size === 0) this.waiters.delete(paymentId);
      release();
    };
    return {
      cancel,
      wait: async (budgetMs) => {
        const timer = setTimeout(cancel, budgetMs);
        await notified;
        clearTimeout(timer);
        cancel();
      },
    };
  }

  private wake(paymentId: string): void {
    const set = this.waiters.get(paymentId);
    if (!set) return;
    this.waiters.delete(paymentId);
    for (const release of set) release();
  }
}
