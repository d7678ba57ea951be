import { IsDefined } from 'class-validator';
import { NestedObject } from '@dirigen/service-kit';
import { CardDto } from './create-payment.dto';

/** `POST /v1/tokens`: a card to save. Unknown fields are refused. */
export class CreateTokenDto {
  @IsDefined() @NestedObject(() => CardDto) card!: CardDto;
}
