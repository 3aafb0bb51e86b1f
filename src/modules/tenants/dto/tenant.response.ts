import { ApiProperty } from '@nestjs/swagger';
import { TenantQuotasDto } from './tenant-quotas.dto';
import { TENANT_STATUSES, type TenantStatus } from 'src/core/context/records';
import type { Tenant } from '../tenant.entity';

export class TenantResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty()
  slug: string;

  @ApiProperty({ enum: TENANT_STATUSES })
  status: TenantStatus;

  @ApiProperty({ type: 'object', additionalProperties: true })
  settings: Record<string, unknown>;

  @ApiProperty({
    type: [String],
    description: 'Token issuers the tenant is bound to; empty: every trusted issuer',
  })
  allowed_issuers: string[];

  @ApiProperty({
    description: "Whether the identity provider's tenant claim admits people into the tenant",
  })
  claims_admit: boolean;

  @ApiProperty({
    type: TenantQuotasDto,
    description: 'Quota overrides; a quota not listed has the configured default',
  })
  quotas: TenantQuotasDto;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class TenantPageResponse {
  @ApiProperty({ type: [TenantResponse] })
  items: TenantResponse[];

  @ApiProperty({ description: 'Tenants matching the filter, across all pages' })
  total_count: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;
}

export function toTenantResponse(tenant: Tenant): TenantResponse {
  return {
    id: tenant.id,
    name: tenant.name,
    slug: tenant.slug,
    status: tenant.status,
    settings: tenant.settings,
    allowed_issuers: tenant.allowedIssuers,
    claims_admit: tenant.claimsAdmit,
    quotas: tenant.quotas ?? {},
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}
