import { Body, Controller, Delete, Headers, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiError } from '@dirigen/service-kit';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard, type AuthenticatedRequest } from './api-key.guard';
import { CardDataInFreeTextGuard } from './card-data-in-free-text.guard';
import { CreateTokenDto } from './create-token.dto';
import { validIdempotencyKey } from './idempotency-key';
import { VAULT_CLIENT } from './payment-intake';
import { TokenIntake } from './token-intake';
import type { VaultClient } from '@dirigen/vault-client';

const tokenPattern = /^tok_[A-Za-z0-9_-]{1,60}$/;

/** Saved cards: the vault keeps the card, the merchant keeps a `tok_…` it can pay with later. */
@Controller('v1/tokens')
@UseGuards(ApiKeyGuard, new CardDataInFreeTextGuard('card.number'))
export class TokensController {
  constructor(
    @Inject(TokenIntake) private readonly tokens: TokenIntake,
    @Inject(VAULT_CLIENT) private readonly vault: VaultClient,
  ) {}

  @Post()
  async create(
    @Req() request: AuthenticatedRequest,
    @Body() body: CreateTokenDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { token, replayed } = await this.tokens.create(request.merchantId!, body, validIdempotencyKey(idempotencyKey));
    void reply.status(replayed ? 200 : 201);
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    return token;
  }

  @Delete(':id')
  async delete(@Req() request: AuthenticatedRequest, @Param('id') id: string) {
    const deleted = tokenPattern.test(id) && (await this.vault.deleteToken(request.merchantId!, id));
    if (!deleted) throw ApiError.notFound('token', id);
    return { id, object: 'token', deleted: true };
  }
}
