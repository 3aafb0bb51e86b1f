import { AllowedIssuersField } from './allowed-issuers.field';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsString, Length, Matches, ValidateNested } from 'class-validator';
import { TenantQuotasDto } from './tenant-quotas.dto';
import { MaxJsonBytes } from 'src/common/json-size.validator';

/** Partial update. The slug never changes (tokens and URLs name it); status changes through the actions. */
export class UpdateTenantDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 255 })
  @OptionalNonNull()
  @IsString()
  @Length(1, 255)
  @Matches(/\S/, { message: 'name must not be blank' })
  name?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Replaces the settings object',
  })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  settings?: Record<string, unknown>;

  @AllowedIssuersField(
    'Replaces the token issuers (exact `iss` values) the tenant is bound to; [] unbinds it',
  )
  allowed_issuers?: string[];

  @ApiPropertyOptional({
    description:
      "Whether the identity provider's tenant claim admits people into the tenant (true for tenants a platform admin made; a self-registered tenant has it only when its registrant's claim listed its slug)",
  })
  @OptionalNonNull()
  @IsBoolean()
  claims_admit?: boolean;

  @ApiPropertyOptional({
    type: TenantQuotasDto,
    description:
      'Replaces the quota overrides; a quota left out has the configured default ({} restores all)',
  })
  @OptionalNonNull()
  @IsObject()
  @ValidateNested()
  @Type(() => TenantQuotasDto)
  quotas?: TenantQuotasDto;
}
