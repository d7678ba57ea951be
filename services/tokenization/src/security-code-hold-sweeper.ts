import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from '@dirigen/observability';
import type { DataSource } from 'typeorm';

export interface HoldSweepOptions {
  /** A hold older than this is forgotten: the payment's events are past the topic's retention (30 days), so no authorization can still come for it. */
  retentionMs: number;
  intervalMs: number;
  batchSizeMax: number;
}

/**
 * Forgets the records of payment-time security-code holds that were never released (an unknown
 * PSP outcome, a gateway that never came back). The code itself left memory within minutes; the
 * record only makes a late authorization fail `cvc_expired`, which no longer matters past retention.
 */
export class SecurityCodeHoldSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    private readonly options: HoldSweepOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'security-code hold sweep failed; retried next round'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Deletes up to `batchSizeMax` expired hold records; how many it deleted. */
  async sweep(): Promise<number> {
    const [, deleted]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM vault.security_code_holds WHERE (token, payment_id) IN (
         SELECT token, payment_id FROM vault.security_code_holds WHERE held_at < now() - make_interval(secs => $1) LIMIT $2)`,
      [this.options.retentionMs / 1000, this.options.batchSizeMax],
    );
    return deleted;
  }
}
