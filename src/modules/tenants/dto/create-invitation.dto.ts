import { TENANT_ROLES } from 'src/core/context/records';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { EmailField, OptionalEnumField } from 'src/common/decorators/dto-fields.decorator';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import type { TenantRole } from 'src/core/context/tenant-context';

export class CreateInvitationDto {
  @EmailField({
    example: 'ada@acme.example',
    description:
      'Accepted by a token whose e-mail is this address (A–Z compared case-insensitively, nothing else folded) and whose email_verified is true',
  })
  email: string;

  @OptionalEnumField(TENANT_ROLES, { default: 'member' })
  role?: TenantRole;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 365,
    description: 'Days until the invitation expires (default BOARDS_INVITATION_TTL_DAYS)',
  })
  @OptionalNonNull()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(365)
  expires_in_days?: number;
}
