import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { MaxJsonBytes } from 'src/common/json-size.validator';
import { SLUG_PATTERN } from 'src/common/slug';

export const ORGANIZATION_SIZES = ['small', 'medium', 'large', 'enterprise'] as const;

export class RegisterTenantDto {
  @ApiProperty({ minLength: 1, maxLength: 255, example: 'Acme Corporation' })
  @IsString()
  @Length(1, 255)
  @Matches(/\S/, { message: 'organization_name must not be blank' })
  organization_name: string;

  @ApiPropertyOptional({
    pattern: SLUG_PATTERN.source,
    description: 'Generated from the name when absent',
  })
  @OptionalNonNull()
  @IsString()
  @Matches(SLUG_PATTERN, {
    message:
      'organization_slug must be lowercase letters, digits and inner hyphens, at most 50 characters',
  })
  organization_slug?: string;

  @ApiProperty({ format: 'email' })
  @IsEmail()
  @MaxLength(320)
  admin_email: string;

  @ApiPropertyOptional({ maxLength: 255 })
  @OptionalNonNull()
  @IsString()
  @Length(1, 255)
  admin_name?: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  use_case?: string;

  @ApiPropertyOptional({ enum: ORGANIZATION_SIZES })
  @OptionalNonNull()
  @IsIn(ORGANIZATION_SIZES)
  organization_size?: (typeof ORGANIZATION_SIZES)[number];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(16_384)
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({ default: false })
  @OptionalNonNull()
  @IsBoolean()
  include_sample_data?: boolean;
}
