import { AllowedIssuersField } from './allowed-issuers.field';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsObject, IsString, Length, Matches, MaxLength } from 'class-validator';
import { EMAIL_MAX_LENGTH, EMAIL_PATTERN } from 'src/common/email';
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
    maxLength: EMAIL_MAX_LENGTH,
    example: 'it-lead@acme.example',
    description:
      "The tenant's first admin: an admin invitation for this address, accepted by the first request with a token whose e-mail is this one and verified, and X-Tenant naming the tenant",
  })
  @OptionalNonNull()
  @IsString()
  @MaxLength(EMAIL_MAX_LENGTH)
  @Matches(EMAIL_PATTERN, { message: 'admin_email must be an e-mail address' })
  admin_email?: string;

  @AllowedIssuersField(
    'Bind the tenant to these token issuers (exact `iss` values): tokens of any other trusted issuer do not enter it. Empty: every trusted issuer',
  )
  allowed_issuers?: string[];

  @ApiPropertyOptional({
    default: false,
    description: 'Create a few sample boards and generations',
  })
  @OptionalNonNull()
  @IsBoolean()
  include_sample_data?: boolean;
}
