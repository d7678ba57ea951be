import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from '@dirigen/observability';
import { vacuumWhereDead } from '@dirigen/persistence';
import type { DataSource } from 'typeorm';

export interface RetentionOptions {
  /**
   * A payment's card (not saved by the merchant) is destroyed this long after it was stored: long
   * enough for the payment's authorization, retries and failover, no longer (PCI DSS 3.2.1).
   */
  paymentCardRetentionMs: number;
  /**
   * The record that a payment-time security code was held (never the code) is forgotten after this:
   * past the payment topic's retention (30 days) no authorization can still come for it.
   */
  holdRetentionMs: number;
  intervalMs: number;
  /** Expired security codes are erased this often, apart from the rest (see CardVault). */
  securityCodeIntervalMs: number;
  /** Rows deleted per statement; a round repeats until a batch comes back short, or `batchesPerRoundMax`. */
  batchSizeMax: number;
  batchesPerRoundMax: number;
}

/**
 * Destroys what the vault no longer needs, in bounded batches, on a timer. Every replica runs it:
 * each batch locks the rows it deletes with SKIP LOCKED, so replicas sweeping at once take
 * disjoint batches instead of waiting on each other, and a row is deleted once whoever gets it.
 */
export class VaultRetentionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private securityCodeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    private readonly options: RetentionOptions,
  ) {
    if (!(options.batchSizeMax >= 1 && options.batchesPerRoundMax >= 1)) throw new Error('invariant: batchSizeMax and batchesPerRoundMax are at least 1');
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'vault retention sweep failed; retried next round'));
    }, this.options.intervalMs);
    this.timer.unref();
    this.securityCodeTimer = setInterval(() => {
      this.sweepSecurityCodes().catch((error: unknown) => this.logger.warn({ err: error }, 'vault security code sweep failed; retried next round'));
    }, this.options.securityCodeIntervalMs);
    this.securityCodeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    clearInterval(this.securityCodeTimer);
  }

  /** One round of expired security codes, until none is left (or `batchesPerRoundMax`). */
  async sweepSecurityCodes(): Promise<number> {
    const securityCodes = await this.drain(() => this.sweepSecurityCodeBatch());
    if (securityCodes > 0) this.logger.info({ securityCodes }, 'vault retention: erased expired security codes');
    await this.compact();
    return securityCodes;
  }

  /**
   * VACUUM of the tables whose rows churn, once dead tuples pile up: a released or erased security code leaves its ciphertext
   * on disk as a dead tuple until vacuumed (so it is gone for good sooner), and where autovacuum is
   * off (as on some CI machines) dead tuples would otherwise pile up and slow every lookup.
   */
  private async compact(): Promise<void> {
    try {
      await vacuumWhereDead(this.dataSource, [
        { schema: 'vault', table: 'held_security_codes' },
        { schema: 'vault', table: 'cards' },
      ]);
    } catch (error) {
      this.logger.warn({ err: error }, 'vault retention: VACUUM failed; leaving it to autovacuum');
    }
  }

  /** One round: expired payment cards, then expired hold records, each until none is left. */
  async sweep(): Promise<{ paymentCards: number; holds: number }> {
    const paymentCards = await this.drain(() => this.sweepPaymentCards());
    const holds = await this.drain(() => this.sweepHolds());
    if (paymentCards > 0 || holds > 0) this.logger.info({ paymentCards, holds }, 'vault retention: destroyed expired payment cards and hold records');
    return { paymentCards, holds };
  }

  private async drain(deleteBatch: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < this.options.batchesPerRoundMax; batch++) {
      const deleted = await deleteBatch();
      total += deleted;
      if (deleted < this.options.batchSizeMax) break;
    }
    return total;
  }

  /** Destroys up to `batchSizeMax` payment cards older than their retention. */
  async sweepPaymentCards(): Promise<number> {
    const [, deleted]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM vault.cards WHERE token IN (
         SELECT token FROM vault.cards WHERE kind = 'payment' AND created_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.options.paymentCardRetentionMs / 1000, this.options.batchSizeMax],
    );
    return deleted;
  }

  /** Forgets up to `batchSizeMax` hold records older than their retention. */
  async sweepHolds(): Promise<number> {
    const [, deleted]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM vault.security_code_holds WHERE (token, payment_id) IN (
         SELECT token, payment_id FROM vault.security_code_holds WHERE held_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.options.holdRetentionMs / 1000, this.options.batchSizeMax],
    );
    return deleted;
  }

  /** Erases up to `batchSizeMax` security codes past their expiry (ciphertext, unusable since it expired). */
  async sweepSecurityCodeBatch(): Promise<number> {
    const [, deleted]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM vault.held_security_codes WHERE (token, payment_id) IN (
         SELECT token, payment_id FROM vault.held_security_codes WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [this.options.batchSizeMax],
    );
    return deleted;
  }
}
