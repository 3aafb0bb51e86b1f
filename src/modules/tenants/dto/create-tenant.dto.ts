import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsObject, IsString, Length, Matches } from 'class-validator';
import { MaxJsonBytes } from 'src/common/json-size.validator';
import { SLUG_PATTERN } from 'src/common/slug';

export class CreateTenantDto {
  @ApiProperty({ minLength: 1, maxLength: 255, example: 'Acme Corporation' })
  @IsString()
  @Length(1, 255)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @ApiPropertyOptional({
    pattern: SLUG_PATTERN.source,
    maxLength: 50,
    description: 'Generated from the name when absent',
  })
  @OptionalNonNull()
  @IsString()
  @Matches(SLUG_PATTERN, {
    message: 'slug must be lowercase letters, digits and inner hyphens, at most 50 characters',
  })
  slug?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({
    default: false,
    description: 'Create a few sample boards and generations',
  })
  @OptionalNonNull()
  @IsBoolean()
  include_sample_data?: boolean;
}
