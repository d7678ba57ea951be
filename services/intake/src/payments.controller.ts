import { Body, Controller, Get, Headers, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Logger } from '@dirigen/observability';
import { ApiError, LOGGER, Optional } from '@dirigen/service-kit';
import { Type } from 'class-transformer';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard, type AuthenticatedRequest } from './api-key.guard';
import { CardDataInFreeTextGuard } from './card-data-in-free-text.guard';
import { CreatePaymentDto } from './create-payment.dto';
import { validIdempotencyKey } from './idempotency-key';
import { PaymentIntake } from './payment-intake';
import { presentEvent, presentPayment } from './payment.presenter';
import { pageSizeMax, PaymentsReadModel } from './payments.read-model';

const paymentIdPattern = /^pay_[A-Za-z0-9]{1,64}$/;

class ListPaymentsQuery {
  @Optional() @Type(() => Number) @IsInt() @Min(1) @Max(pageSizeMax) limit?: number;
  @Optional() @IsString() @Length(1, 80) starting_after?: string;
}

/** The merchant API for payments (PRODUCT.md, v1). Thin: parse, authenticate, delegate, present. */
@Controller('v1/payments')
@UseGuards(ApiKeyGuard, new CardDataInFreeTextGuard('payment_method.card.number'))
export class PaymentsController {
  constructor(
    @Inject(PaymentIntake) private readonly intake: PaymentIntake,
    @Inject(PaymentsReadModel) private readonly payments: PaymentsReadModel,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Post()
  async create(
    @Req() request: AuthenticatedRequest,
    @Body() body: CreatePaymentDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const startedAt = performance.now();
    const { payment, replayed } = await this.intake.create(request.merchantId!, body, validIdempotencyKey(idempotencyKey));
    // One line per answered payment, inside the request's span: it carries the trace id.
    this.logger.info(
      { paymentId: payment.id, merchantId: payment.merchantId, status: payment.status, replayed, latencyMs: Math.round(performance.now() - startedAt) },
      'payment answered',
    );
    void reply.status(payment.status === 'processing' ? 202 : replayed ? 200 : 201);
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    return presentPayment(payment);
  }

  @Get()
  async list(@Req() request: AuthenticatedRequest, @Query() query: ListPaymentsQuery) {
    const { payments, hasMore } = await this.payments.list(request.merchantId!, query.limit ?? 10, query.starting_after);
    return { object: 'list', data: payments.map(presentPayment), has_more: hasMore };
  }

  @Get(':id')
  async retrieve(@Req() request: AuthenticatedRequest, @Param('id') id: string) {
    return presentPayment(await this.requirePayment(request.merchantId!, id));
  }

  @Get(':id/events')
  async timeline(@Req() request: AuthenticatedRequest, @Param('id') id: string) {
    const payment = await this.requirePayment(request.merchantId!, id);
    return { object: 'list', data: (await this.payments.timeline(payment.id)).map(presentEvent) };
  }

  private async requirePayment(merchantId: string, id: string) {
    const payment = paymentIdPattern.test(id) ? await this.payments.find(merchantId, id) : undefined;
    if (!payment) throw ApiError.notFound('payment', id);
    return payment;
  }
}
