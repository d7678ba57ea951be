import type { EventProducer, OutboundMessage } from './event-producer';

export interface OutboxRow extends OutboundMessage {
  id: string;
}

/** Where a service's outbox lives (its own PostgreSQL schema); implemented in libs/persistence. */
export interface OutboxStore {
  /**
   * Claims up to `limit` of the oldest rows, hands them to `publish` and deletes them once it
   * resolves, in one transaction: a failed publish leaves them for the next round.
   * Returns how many rows were published.
   */
  drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>): Promise<number>;
  /** One relay per outbox publishes at a time, so a payment's events leave in the order they were written. */
  tryAcquireLeadership(): Promise<boolean>;
  releaseLeadership(): Promise<void>;
}

export interface OutboxRelayOptions {
  batchSizeMax?: number;
  /** How often an idle relay looks for rows written by other replicas. */
  idlePollMs?: number;
  /** How often a standby replica tries to become the relay. */
  leadershipRetryMs?: number;
  /**
   * Longest wait for the broker to acknowledge one drained batch. The producer retries without
   * end (idempotence needs it), so without this bound an unreachable broker or a topic that does
   * not exist holds the drain transaction open forever and stop() never returns.
   */
  publishTimeoutMs?: number;
  log: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void;
}

/**
 * Relays a service's transactional outbox to Kafka (no dual write: state and events commit
 * together in PostgreSQL, then this publishes them). Delivery is at-least-once: a crash after
 * the publish and before the delete republishes rows, which consumers de-duplicate by event id.
 */
export class OutboxRelay {
  private readonly batchSizeMax: number;
  private readonly idlePollMs: number;
  private readonly leadershipRetryMs: number;
  private readonly publishTimeoutMs: number;
  private running = false;
  private leader = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private published = 0;
  /**
   * A send given up on by timeout, which kafkajs keeps retrying and may still complete. At most
   * one: no new round starts until it settles, or every round would stack another send of the
   * same rows (each one a duplicate once the broker answers).
   */
  private abandonedSend: Promise<void> | undefined;

  constructor(
    private readonly store: OutboxStore,
    private readonly producer: EventProducer,
    private readonly options: OutboxRelayOptions,
  ) {
    this.batchSizeMax = options.batchSizeMax ?? 1_000;
    this.idlePollMs = options.idlePollMs ?? 20;
    this.leadershipRetryMs = options.leadershipRetryMs ?? 1_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get publishedCount(): number {
    return this.published;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called after a transaction that wrote outbox rows commits: publish now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    if (this.leader) await this.store.releaseLeadership().catch(() => undefined);
    this.leader = false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.abandonedSend) {
          await this.idle(this.leadershipRetryMs);
          continue;
        }
        if (!this.leader) {
          this.leader = await this.store.tryAcquireLeadership();
          if (!this.leader) {
            await this.idle(this.leadershipRetryMs);
            continue;
          }
          this.options.log('info', 'outbox relay is the leader');
        }
        const count = await this.store.drain(this.batchSizeMax, (rows) => this.publish(rows));
        this.published += count;
        if (count < this.batchSizeMax) await this.idle(this.idlePollMs);
      } catch (error) {
        this.options.log('error', 'outbox relay round failed', { error: String(error) });
        this.leader = false;
        await this.store.releaseLeadership().catch(() => undefined);
        await this.idle(this.leadershipRetryMs);
      }
    }
  }

  /** Sends the rows, or fails after publishTimeoutMs so that the drain rolls back and keeps them. */
  private async publish(rows: readonly OutboxRow[]): Promise<void> {
    const sending = this.producer.send(rows);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed-out'>((resolve) => (timer = setTimeout(() => resolve('timed-out'), this.publishTimeoutMs)));
    try {
      if ((await Promise.race([sending, timedOut])) !== 'timed-out') return;
    } finally {
      clearTimeout(timer);
    }
    this.abandonedSend = sending.then(
      () => undefined,
      () => undefined,
    );
    void this.abandonedSend.then(() => (this.abandonedSend = undefined));
    throw new Error(`the broker did not acknowledge ${rows.length} outbox rows within ${this.publishTimeoutMs} ms`);
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
