import { UuidField } from 'src/common/decorators/dto-fields.decorator';

export class TransferOwnershipDto {
  @UuidField({ description: 'A user of the same organization' })
  new_owner_id: string;
}
