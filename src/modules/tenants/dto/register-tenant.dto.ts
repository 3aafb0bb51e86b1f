import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import {
  NameField,
  OptionalBoolean,
  OptionalEnumField,
  OptionalJsonObject,
  OptionalSlugField,
} from 'src/common/decorators/dto-fields.decorator';

export const ORGANIZATION_SIZES = ['small', 'medium', 'large', 'enterprise'] as const;

export class RegisterTenantDto {
  @NameField({ example: 'Acme Corporation' })
  organization_name: string;

  @OptionalSlugField({ description: 'Generated from the name when absent' })
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

  @OptionalEnumField(ORGANIZATION_SIZES)
  organization_size?: (typeof ORGANIZATION_SIZES)[number];

  @OptionalJsonObject(16_384)
  metadata?: Record<string, unknown>;

  @OptionalBoolean({ default: false })
  include_sample_data?: boolean;
}
