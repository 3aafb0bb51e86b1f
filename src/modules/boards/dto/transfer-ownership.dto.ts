import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

export class TransferOwnershipDto {
  @ApiProperty({ format: 'uuid', description: 'A user of the same organization' })
  @IsUUID()
  new_owner_id: string;
}
