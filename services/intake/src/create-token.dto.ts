import { Type } from 'class-transformer';
import { IsDefined, IsObject, ValidateNested } from 'class-validator';
import { CardDto } from './create-payment.dto';

/** `POST /v1/tokens`: a card to save. Unknown fields are refused. */
export class CreateTokenDto {
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CardDto) card!: CardDto;
}
