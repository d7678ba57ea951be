import { Inject, Injectable } from '@nestjs/common';
import type { PaymentEvent, Payment, PaymentState } from '@dirigen/payments';
import { DATA_SOURCE } from '@dirigen/service-kit';
import { PgPaymentStates, preparedQuery } from '@dirigen/persistence';
import type { DataSource, EntityManager } from 'typeorm';
import { intakeSchema } from './intake.migrations';
import { notificationPayload, paymentUpdatesChannel } from './payment-waiter';

export const projectionConsumer = 'intake-projection';

/** Largest page `GET /v1/payments` returns. */
export const pageSizeMax = 100;

export interface RecordedEvent {
  eventId: string;
  paymentId: string;
  event: PaymentEvent;
  occurredAt: string;
}

/** The payments read model (intake.payments) and the timeline (intake.payment_events). */
@Injectable()
export class PaymentsReadModel {
  private readonly lockedPayments = new PgPaymentStates(intakeSchema, 'payments', 'id');

  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** Merchant-scoped: another merchant's payment is indistinguishable from a missing one. */
  async find(merchantId: string, paymentId: string): Promise<Payment | undefined> {
    const [row] = await preparedQuery<{ state: PaymentState }>(this.dataSource, 'SELECT state FROM intake.payments WHERE id = $1 AND merchant_id = $2', [paymentId, merchantId]);
    return row?.state.kind === 'exists' ? row.state.payment : undefined;
  }

  async findById(paymentId: string): Promise<Payment | undefined> {
    const [row] = await preparedQuery<{ state: PaymentState }>(this.dataSource, 'SELECT state FROM intake.payments WHERE id = $1', [paymentId]);
    return row?.state.kind === 'exists' ? row.state.payment : undefined;
  }

  /** Newest first; `startingAfter` is the last id of the previous page. */
  async list(merchantId: string, limit: number, startingAfter: string | undefined): Promise<{ payments: Payment[]; hasMore: boolean }> {
    if (!Number.isInteger(limit) || limit < 1 || limit > pageSizeMax) throw new Error(`invariant: page size ${limit} outside 1..${pageSizeMax}`);
    const rows: { state: PaymentState }[] = startingAfter
      ? await this.dataSource.query(
          `SELECT p.state FROM intake.payments p, intake.payments cursor
           WHERE cursor.id = $2 AND cursor.merchant_id = $1 AND p.merchant_id = $1
             AND (p.created_at, p.id) < (cursor.created_at, cursor.id)
           ORDER BY p.created_at DESC, p.id DESC LIMIT $3`,
          [merchantId, startingAfter, limit + 1],
        )
      : await this.dataSource.query('SELECT state FROM intake.payments WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [merchantId, limit + 1]);
    const payments = rows.slice(0, limit).flatMap((row) => (row.state.kind === 'exists' ? [row.state.payment] : []));
    return { payments, hasMore: rows.length > limit };
  }

  async timeline(paymentId: string): Promise<{ event_id: string; type: string; occurred_at: Date; data: PaymentEvent['data'] }[]> {
    return this.dataSource.query('SELECT event_id, type, occurred_at, data FROM intake.payment_events WHERE payment_id = $1 ORDER BY position', [paymentId]);
  }

  /** In one statement: claims the event ids for the projection (the fresh ones come back) and locks the payments. */
  claimAndLock(manager: EntityManager, eventIds: readonly string[], paymentIds: readonly string[]): Promise<{ fresh: Set<string>; states: Map<string, PaymentState> }> {
    return this.lockedPayments.claimAndLock<PaymentState>(manager, projectionConsumer, eventIds, paymentIds);
  }

  /**
   * In one statement: the new payment states, their timeline entries, and a NOTIFY per payment
   * whose status changed (delivered on commit to every intake replica), carrying the payment as
   * committed so that the request waiting for it needs not read it back (`notificationPayload`).
   */
  async saveProjection(manager: EntityManager, payments: readonly Payment[], events: readonly RecordedEvent[], changed: readonly Payment[]): Promise<void> {
    if (payments.length === 0 && events.length === 0) return;
    await preparedQuery(
      manager,
      `WITH upserted AS (
         INSERT INTO intake.payments (id, merchant_id, status, state, created_at, updated_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[], $6::timestamptz[])
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
         RETURNING 1
       ), appended AS (
         INSERT INTO intake.payment_events (event_id, payment_id, type, occurred_at, data)
         SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::jsonb[]) ON CONFLICT (event_id) DO NOTHING
         RETURNING 1
       )
       SELECT pg_notify($12, payload) FROM unnest($13::text[]) AS payload`,
      [
        payments.map((payment) => payment.id),
        payments.map((payment) => payment.merchantId),
        payments.map((payment) => payment.status),
        payments.map((payment) => JSON.stringify({ kind: 'exists', payment })),
        payments.map((payment) => payment.createdAt),
        payments.map((payment) => payment.updatedAt),
        events.map((recorded) => recorded.eventId),
        events.map((recorded) => recorded.paymentId),
        events.map((recorded) => recorded.event.type),
        events.map((recorded) => recorded.occurredAt),
        events.map((recorded) => JSON.stringify(recorded.event.data)),
        paymentUpdatesChannel,
        changed.map(notificationPayload),
      ],
    );
  }
}
