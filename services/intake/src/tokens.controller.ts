import { Body, Controller, Delete, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { validateCard } from '@dirigen/cards';
import { ApiError } from '@dirigen/service-kit';
import { Type } from 'class-transformer';
import { IsDefined, IsObject, ValidateNested } from 'class-validator';
import { ApiKeyGuard, type AuthenticatedRequest } from './api-key.guard';
import { CardDto } from './create-payment.dto';
import { VAULT_CLIENT } from './payment-intake';
import type { VaultClient } from '@dirigen/vault-client';

class CreateTokenDto {
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CardDto) card!: CardDto;
}

const tokenPattern = /^tok_[A-Za-z0-9_-]{1,60}$/;

/** Saved cards: the vault keeps the card, the merchant keeps a `tok_…` it can pay with later. */
@Controller('v1/tokens')
@UseGuards(ApiKeyGuard)
export class TokensController {
  constructor(@Inject(VAULT_CLIENT) private readonly vault: VaultClient) {}

  @Post()
  @HttpCode(201)
  async create(@Req() request: AuthenticatedRequest, @Body() body: CreateTokenDto) {
    const card = { number: body.card.number.replace(/[\s-]/g, ''), expMonth: body.card.exp_month, expYear: body.card.exp_year, cvc: body.card.cvc };
    const validation = validateCard(card, new Date());
    if (!validation.ok) throw new ApiError(402, 'card_error', validation.failure.code, validation.failure.message, `card.${validation.failure.field}`);
    const facts = await this.vault.tokenize(request.merchantId!, card);
    return {
      id: facts.token,
      object: 'token',
      card: { brand: facts.brand, last4: facts.last4, exp_month: facts.expMonth, exp_year: facts.expYear, fingerprint: facts.fingerprint },
    };
  }

  @Delete(':id')
  async delete(@Req() request: AuthenticatedRequest, @Param('id') id: string) {
    const deleted = tokenPattern.test(id) && (await this.vault.deleteToken(request.merchantId!, id));
    if (!deleted) throw ApiError.notFound('token', id);
    return { id, object: 'token', deleted: true };
  }
}
