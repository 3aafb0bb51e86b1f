import { ApiProperty } from '@nestjs/swagger';
import { TenantResponse } from './tenant.response';

export class RegistrationStatusResponse {
  @ApiProperty({ description: 'Self-service registration is available (multi-tenant mode)' })
  registration_open: boolean;

  @ApiProperty()
  requires_approval: boolean;

  @ApiProperty({
    type: [String],
    description: 'E-mail domains allowed to register; empty means any',
  })
  allowed_domains: string[];

  @ApiProperty()
  max_tenants_per_user: number;
}

export class ApiAccessHints {
  @ApiProperty({ example: '/api' })
  base_url: string;

  @ApiProperty({ example: 'X-Tenant' })
  tenant_header: string;

  @ApiProperty()
  tenant_slug: string;

  @ApiProperty({ example: '/api/docs' })
  docs_url: string;
}

export class RegistrationResponse {
  @ApiProperty({ type: TenantResponse })
  tenant: TenantResponse;

  @ApiProperty()
  requires_approval: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'From BOARDS_FRONTEND_BASE_URL' })
  dashboard_url: string | null;

  @ApiProperty({ type: ApiAccessHints })
  api_access: ApiAccessHints;

  @ApiProperty()
  message: string;
}
