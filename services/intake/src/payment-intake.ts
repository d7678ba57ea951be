import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { validateCard, validateSecurityCode } from '@dirigen/cards';
import type { OutboxRelay } from '@dirigen/messaging';
import { decide, evolve, initialPaymentState, isChargeableCurrency, type Payment, type PaymentRequested } from '@dirigen/payments';
import { ApiError, currentTraceFields, echoSafely, DATA_SOURCE, OUTBOX_RELAY, PLATFORM_CONFIG, toOutboundMessages, type PlatformConfig } from '@dirigen/service-kit';
import { outboxRowsOf, preparedQuery } from '@dirigen/persistence';
import type { DataSource, EntityManager } from 'typeorm';
import type { CreatePaymentDto } from './create-payment.dto';
import { PaymentWaiter } from './payment-waiter';
import { PaymentsReadModel, projectionConsumer } from './payments.read-model';
import type { VaultClient } from '@dirigen/vault-client';
import { idempotencyKeyHash, requestFingerprint, tokenizeRequestId } from './request-fingerprint';

export const VAULT_CLIENT = Symbol('VAULT_CLIENT');
export const REQUEST_HASH_SECRET = Symbol('REQUEST_HASH_SECRET');

/** How long a create request waits for the payment's outcome before answering 202 `processing`. */
export const waitBudgetMs = Number(process.env.PAYMENT_WAIT_BUDGET_MS ?? 5_000);

export interface CreatedPayment {
  payment: Payment;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

/**
 * Creates and confirms a payment: validates what the domain needs, honours the Idempotency-Key
 * (stored only as its keyed hash, `idempotencyKeyHash`),
 * tokenizes the card, then records the payment, its first event and the outbox row in one
 * transaction (no dual write), and waits a bounded time for the outcome.
 */
@Injectable()
export class PaymentIntake {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(VAULT_CLIENT) private readonly vault: VaultClient,
    @Inject(PaymentWaiter) private readonly waiter: PaymentWaiter,
    @Inject(PaymentsReadModel) private readonly payments: PaymentsReadModel,
    @Inject(REQUEST_HASH_SECRET) private readonly requestHashSecret: Buffer,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
  ) {}

  async create(merchantId: string, dto: CreatePaymentDto, idempotencyKey: string | undefined): Promise<CreatedPayment> {
    const currency = dto.currency.toUpperCase();
    if (!isChargeableCurrency(currency)) throw ApiError.invalidRequest('currency_invalid', `Invalid currency: ${dto.currency.slice(0, 8)}.`, 'currency');
    const card = this.cardOrToken(dto);
    const requestHash = requestFingerprint(this.requestHashSecret, dto);
    const keyHash = idempotencyKey === undefined ? undefined : idempotencyKeyHash(this.requestHashSecret, idempotencyKey);
    if (keyHash !== undefined) {
      const earlier = await this.findByIdempotencyKey(this.dataSource.manager, merchantId, keyHash, requestHash);
      if (earlier) return { payment: await this.waitForOutcome(earlier), replayed: true };
    }
    // Named before the card is resolved: a security code given with a saved card is held for this payment.
    const paymentId = `pay_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
    const cardFacts = 'token' in card ? await this.savedCard(merchantId, paymentId, card) : await this.vault.tokenize(merchantId, card, 'payment', idempotencyKey && tokenizeRequestId(this.requestHashSecret, 'payment', merchantId, idempotencyKey));
    const request: PaymentRequested = {
      amount: { amountMinor: dto.amount, currency },
      captureMethod: dto.capture_method ?? 'automatic',
      paymentMethod: { type: 'card', card: cardFacts },
      ...(dto.customer ? { customer: { ...dto.customer } } : {}),
      ...(dto.description !== undefined ? { description: dto.description } : {}),
      metadata: dto.metadata ?? {},
    };
    const waiting = this.waiter.register(paymentId);
    try {
      const created = await this.record(merchantId, paymentId, request, keyHash, requestHash);
      if (created !== paymentId) return { payment: await this.waitForOutcome(created), replayed: true };
      const notified = await waiting.wait(waitBudgetMs);
      return { payment: notified ?? (await this.payments.find(merchantId, paymentId))!, replayed: false };
    } finally {
      waiting.cancel();
    }
  }

  /** Returns the id of the payment the request stands for: the new one, or the one an identical concurrent request created. */
  private async record(merchantId: string, paymentId: string, request: PaymentRequested, keyHash: Buffer | undefined, requestHash: Buffer): Promise<string> {
    const occurredAt = new Date().toISOString();
    const eventId = randomUUID();
    const [requested] = decide({ type: 'RequestPayment', request }, initialPaymentState);
    const state = evolve(initialPaymentState, requested!, { paymentId, merchantId, occurredAt });
    if (state.kind !== 'exists') throw new Error('invariant: a requested payment exists');
    const outbound = toOutboundMessages(requested!, { eventId, paymentId, merchantId, occurredAt, correlationId: eventId, producer: this.config.instance, ...currentTraceFields() });
    // One statement, so one round trip and atomic without an explicit transaction: the idempotency
    // key (its keyed hash), the payment, its first timeline entry, the projection's inbox claim (the projection will
    // see this event again from Kafka: it is already applied here) and the outbox rows (the log's and fraud's). A concurrent
    // request holding the same key makes the first insert wait, then do nothing, and so the rest.
    const [{ created, outbox_ids: outboxIds }] = await preparedQuery<{ created: number; outbox_ids: string[] | null }>(
      this.dataSource,
      `WITH idempotency AS (
         INSERT INTO intake.idempotency_keys (merchant_id, idempotency_key_hash, request_hash, payment_id)
         SELECT $1, $2, $3, $4 WHERE $2::bytea IS NOT NULL
         ON CONFLICT DO NOTHING RETURNING payment_id
       ), payment AS (
         INSERT INTO intake.payments (id, merchant_id, status, state, created_at, updated_at)
         SELECT $4, $1, $5, $6, $7, $7 WHERE $2::bytea IS NULL OR EXISTS (SELECT 1 FROM idempotency)
         RETURNING id
       ), timeline AS (
         INSERT INTO intake.payment_events (event_id, payment_id, type, occurred_at, data)
         SELECT $8, $4, $9, $7, $10 WHERE EXISTS (SELECT 1 FROM payment)
       ), inbox AS (
         INSERT INTO intake.inbox (consumer, event_id) SELECT $11, $8 WHERE EXISTS (SELECT 1 FROM payment)
       ), outbox AS (
         INSERT INTO intake.outbox (topic, key, value, headers)
         SELECT topic, $4, value, headers FROM unnest($12::text[], $13::bytea[], $14::jsonb[]) AS t(topic, value, headers) WHERE EXISTS (SELECT 1 FROM payment)
         RETURNING id
       )
       SELECT (SELECT count(*)::int FROM payment) AS created, (SELECT array_agg(id) FROM outbox) AS outbox_ids`,
      [
        merchantId,
        keyHash ?? null,
        requestHash,
        paymentId,
        state.payment.status,
        JSON.stringify(state),
        occurredAt,
        eventId,
        requested!.type,
        JSON.stringify(requested!.data),
        projectionConsumer,
        outbound.map((message) => message.topic),
        outbound.map((message) => message.value),
        outbound.map((message) => JSON.stringify(message.headers)),
      ],
    );
    if (created === 1) {
      // Published now by this replica; should it die first, the outbox keeps the rows for the relay's sweep.
      this.relay.publishCommitted(outboxRowsOf(outbound, outboxIds!.map((id) => ({ id }))));
      return paymentId;
    }
    // A concurrent request with the same key won the race and has committed by now.
    const winner = await this.findByIdempotencyKey(this.dataSource.manager, merchantId, keyHash!, requestHash);
    if (!winner) throw new ApiError(409, 'idempotency_error', 'idempotency_key_in_use', 'A request with this Idempotency-Key is in progress; retry later.');
    return winner;
  }

  private async findByIdempotencyKey(manager: EntityManager, merchantId: string, keyHash: Buffer, requestHash: Buffer): Promise<string | undefined> {
    const [row] = await preparedQuery<{ request_hash: Buffer; payment_id: string }>(
      manager,
      'SELECT request_hash, payment_id FROM intake.idempotency_keys WHERE merchant_id = $1 AND idempotency_key_hash = $2',
      [merchantId, keyHash],
    );
    if (!row) return undefined;
    if (!row.request_hash.equals(requestHash)) {
      throw new ApiError(400, 'idempotency_error', 'idempotency_key_reused', 'This Idempotency-Key was used with a different request body.', 'Idempotency-Key');
    }
    return row.payment_id;
  }

  private async waitForOutcome(paymentId: string): Promise<Payment> {
    const merchantPayment = await this.payments.findById(paymentId);
    if (!merchantPayment) throw new ApiError(409, 'idempotency_error', 'idempotency_key_in_use', 'A request with this Idempotency-Key is in progress; retry later.');
    if (merchantPayment.status !== 'processing') return merchantPayment;
    const waiting = this.waiter.register(paymentId);
    try {
      // Re-read after registering: the outcome may have landed in between.
      const current = await this.payments.findById(paymentId);
      if (current && current.status !== 'processing') return current;
      const notified = await waiting.wait(waitBudgetMs);
      if (notified) return notified;
    } finally {
      waiting.cancel();
    }
    return (await this.payments.findById(paymentId))!;
  }

  /**
   * The saved card's facts. A security code given with the token is checked against the card's
   * brand, then held by the vault (in memory) for this payment's authorization only.
   */
  private async savedCard(merchantId: string, paymentId: string, saved: { token: string; cvc?: string }) {
    const facts = await this.vault.lookup(merchantId, saved.token);
    if (!facts) throw new ApiError(400, 'invalid_request_error', 'resource_missing', `No such token: '${echoSafely(saved.token)}'`, 'payment_method.token');
    if (saved.cvc === undefined) return facts;
    const check = validateSecurityCode(facts.brand, saved.cvc);
    if (!check.ok) throw new ApiError(402, 'card_error', check.failure.code, check.failure.message, 'payment_method.cvc');
    await this.vault.holdSecurityCode({ merchantId, token: saved.token, paymentId, cvc: saved.cvc });
    return facts;
  }

  /** The card to tokenize, or the saved card's token: exactly one of them. */
  private cardOrToken(dto: CreatePaymentDto): { number: string; expMonth: number; expYear: number; cvc: string } | { token: string; cvc?: string } {
    const method = dto.payment_method;
    if (method.type !== 'card') {
      throw ApiError.invalidRequest('payment_method_unavailable', `Payment method type ${method.type} is not available yet.`, 'payment_method.type');
    }
    if (method.token !== undefined && method.card !== undefined) {
      throw ApiError.invalidRequest('parameter_conflict', 'Give payment_method.card or payment_method.token, not both.', 'payment_method.token');
    }
    if (method.token !== undefined) return { token: method.token, ...(method.cvc !== undefined ? { cvc: method.cvc } : {}) };
    if (method.cvc !== undefined) {
      throw ApiError.invalidRequest('parameter_conflict', 'payment_method.cvc goes with payment_method.token; a card carries its own card.cvc.', 'payment_method.cvc');
    }
    if (!method.card) throw ApiError.invalidRequest('parameter_missing', 'Missing required param: payment_method.card.', 'payment_method.card');
    const card = { number: method.card.number.replace(/[\s-]/g, ''), expMonth: method.card.exp_month, expYear: method.card.exp_year, cvc: method.card.cvc };
    const validation = validateCard(card, new Date());
    if (!validation.ok) {
      throw new ApiError(402, 'card_error', validation.failure.code, validation.failure.message, `payment_method.card.${validation.failure.field}`);
    }
    return card;
  }
}
