import { AllowedIssuersField } from './allowed-issuers.field';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, ValidateNested } from 'class-validator';
import {
  OptionalBoolean,
  OptionalJsonObject,
  OptionalNameField,
} from 'src/common/decorators/dto-fields.decorator';
import { TenantQuotasDto } from './tenant-quotas.dto';

/** Partial update. The slug never changes (tokens and URLs name it); status changes through the actions. */
export class UpdateTenantDto {
  @OptionalNameField()
  name?: string;

  @OptionalJsonObject(65_536, { description: 'Replaces the settings object' })
  settings?: Record<string, unknown>;

  @AllowedIssuersField(
    'Replaces the token issuers (exact `iss` values) the tenant is bound to; [] unbinds it',
  )
  allowed_issuers?: string[];

  @OptionalBoolean({
    description:
      "Whether the identity provider's tenant claim admits people into the tenant (true for tenants a platform admin made; a self-registered tenant has it only when its registrant's claim listed its slug)",
  })
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
