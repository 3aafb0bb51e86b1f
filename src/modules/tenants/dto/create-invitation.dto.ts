import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { EMAIL_MAX_LENGTH, EMAIL_PATTERN } from 'src/common/email';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import type { TenantRole } from 'src/core/context/tenant-context';

export class CreateInvitationDto {
  @ApiProperty({
    maxLength: EMAIL_MAX_LENGTH,
    example: 'ada@acme.example',
    description:
      'Accepted by a token whose e-mail is this address (A–Z compared case-insensitively, nothing else folded) and whose email_verified is true',
  })
  @IsString()
  @MaxLength(EMAIL_MAX_LENGTH)
  @Matches(EMAIL_PATTERN, { message: 'email must be an e-mail address' })
  email: string;

  @ApiPropertyOptional({ enum: ['admin', 'member'], default: 'member' })
  @OptionalNonNull()
  @IsIn(['admin', 'member'])
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
