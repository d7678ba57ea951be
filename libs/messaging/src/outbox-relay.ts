import type { EventProducer, OutboundMessage } from './event-producer';

export interface OutboxRow extends OutboundMessage {
  id: string;
}

/** Where a service's outbox lives (its own PostgreSQL schema); implemented in libs/persistence. */
export interface OutboxStore {
  /**
   * Claims up to `limit` of the oldest rows written at least `olderThanMs` ago, hands them to
   * `publish` and deletes them once it resolves, in one transaction: a failed publish leaves them
   * for the next round. Returns how many rows were published.
   */
  drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>, olderThanMs: number): Promise<number>;
  /** Deletes rows that were published (by the replica that wrote them). */
  delete(ids: readonly string[]): Promise<void>;
  /** Reclaims the space of deleted rows, so the table stays small even where autovacuum is off. */
  compact(): Promise<void>;
  /** One relay per outbox sweeps at a time, so orphaned rows leave in the order they were written. */
  tryAcquireLeadership(): Promise<boolean>;
  releaseLeadership(): Promise<void>;
}

export interface OutboxRelayOptions {
  batchSizeMax?: number;
  /** How often the leader sweeps for orphaned rows (written by a replica that died before publishing them). */
  idlePollMs?: number;
  /**
   * How old a row must be before the leader's sweep takes it: younger rows are being published
   * by the replica that wrote them (on a saturated machine its publisher lags seconds behind its
   * commits, and sweeping those rows only publishes duplicates). 0 sweeps every row.
   */
  orphanAgeMs?: number;
  /** How often the leader compacts the outbox table (VACUUM), in sweeps. */
  compactEverySweeps?: number;
  /** How often a standby replica tries to become the relay. */
  leadershipRetryMs?: number;
  /**
   * Longest wait for the broker to acknowledge one batch. The producer retries without end
   * (idempotence needs it), so without this bound an unreachable broker or a topic that does
   * not exist holds a drain transaction open forever and stop() never returns.
   */
  publishTimeoutMs?: number;
  log: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void;
  /** Runs after a direct publish was acknowledged and before its rows are deleted: where a fault drill kills the process. */
  afterDirectPublish?: (rows: readonly OutboxRow[]) => void;
}

/**
 * Relays a service's transactional outbox to Kafka (no dual write: state and events commit
 * together in PostgreSQL, then this publishes them), in two ways:
 * - **directly**: the replica that committed rows hands them over (`publishCommitted`); they are
 *   sent at once, batched with whatever else committed meanwhile, and deleted by id. No poll,
 *   no leader, no transaction held across the send: the common path costs one send and one DELETE
 *   per batch.
 * - **by sweep**: the leader (one replica per outbox, by advisory lock) looks every `idlePollMs`
 *   for rows older than `orphanAgeMs` — rows whose writer died between its commit and its
 *   publish, or whose publish failed — and publishes them in id order.
 * Delivery is at-least-once: a crash after a send and before its delete, or a sweep racing a slow
 * direct publish, sends a row twice; consumers de-duplicate by event id. A payment's next event
 * only exists once its previous one was consumed, so a late copy never overtakes a newer event.
 */
export class OutboxRelay {
  private readonly batchSizeMax: number;
  private readonly idlePollMs: number;
  private readonly orphanAgeMs: number;
  private readonly compactEverySweeps: number;
  private readonly leadershipRetryMs: number;
  private readonly publishTimeoutMs: number;
  private running = false;
  private leader = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private published = 0;
  private sweeps = 0;
  /** Rows committed by this replica, waiting for the direct publisher. */
  private readonly committed: OutboxRow[] = [];
  private directPublishing: Promise<void> | undefined;
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
    this.idlePollMs = options.idlePollMs ?? 1_000;
    this.orphanAgeMs = options.orphanAgeMs ?? 10_000;
    this.compactEverySweeps = options.compactEverySweeps ?? 30;
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

  /**
   * Called with the outbox rows a transaction wrote, after it committed: they are published now
   * instead of at the leader's next sweep. A relay that is not running leaves them to the sweep.
   */
  publishCommitted(rows: readonly OutboxRow[]): void {
    if (!this.running || rows.length === 0) return;
    this.committed.push(...rows);
    this.directPublishing ??= this.publishDirectly().finally(() => (this.directPublishing = undefined));
  }

  /** Asks the leader to sweep now instead of at its next round (rows written without `publishCommitted`). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await this.directPublishing;
    if (this.leader) await this.store.releaseLeadership().catch(() => undefined);
    this.leader = false;
  }

  /** Sends what this replica committed, oldest first, a batch at a time; whatever fails stays in the outbox for the sweep. */
  private async publishDirectly(): Promise<void> {
    while (this.committed.length > 0) {
      const batch = this.committed.splice(0, this.batchSizeMax);
      if (this.abandonedSend) continue; // the broker is not answering: the sweep publishes them later, in order
      try {
        await this.publish(batch);
        this.published += batch.length;
        this.options.afterDirectPublish?.(batch);
        await this.store.delete(batch.map((row) => row.id));
      } catch (error) {
        this.options.log('warn', 'outbox rows left for the sweep', { rows: batch.length, error: String(error) });
      }
    }
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
        const count = await this.store.drain(this.batchSizeMax, (rows) => this.publish(rows), this.orphanAgeMs);
        this.published += count;
        if (++this.sweeps % this.compactEverySweeps === 0) await this.store.compact();
        if (count < this.batchSizeMax) await this.idle(this.idlePollMs);
      } catch (error) {
        this.options.log('error', 'outbox relay round failed', { error: String(error) });
        this.leader = false;
        await this.store.releaseLeadership().catch(() => undefined);
        await this.idle(this.leadershipRetryMs);
      }
    }
  }

  /** Sends the rows, or fails after publishTimeoutMs so that the caller keeps them in the outbox. */
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
