import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TENANT_ROLES, TENANT_STATUSES, type TenantStatus } from 'src/core/context/records';
import {
  MEMBERSHIP_SOURCES,
  type MembershipSource,
  type TenantRole,
} from 'src/core/context/tenant-context';

export class MePrincipalDto {
  @ApiProperty({ description: 'Identity namespace: none, jwt, or oidc:<issuer>', example: 'jwt' })
  provider: string;

  @ApiProperty({ description: 'The token subject (sub)', example: 'user-123' })
  subject: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: "The token's iss claim",
    example: 'https://login.acme.example',
  })
  issuer: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'ada@acme.com' })
  email: string | null;

  @ApiProperty({ description: 'The token says email_verified: true' })
  email_verified: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'Ada Lovelace' })
  name: string | null;

  @ApiProperty({ description: 'May manage all tenants through /api/setup/*' })
  is_platform_admin: boolean;
}

export class MeUserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: TENANT_ROLES })
  tenant_role: TenantRole;

  @ApiProperty({
    enum: MEMBERSHIP_SOURCES,
    description: 'How the caller belongs to the tenant (claim, invitation, domain, …)',
  })
  membership_source: MembershipSource;

  @ApiPropertyOptional({ type: String, nullable: true })
  email: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  display_name: string | null;
}

export class MeTenantDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'acme' })
  slug: string;

  @ApiProperty({ example: 'Acme Corp' })
  name: string;

  @ApiProperty({ enum: TENANT_STATUSES })
  status: TenantStatus;
}

/** GET /api/auth/me: who the caller is, as which user, in which tenant. */
export class MeResponseDto {
  @ApiProperty({ type: MePrincipalDto })
  principal: MePrincipalDto;

  @ApiProperty({ type: MeUserDto })
  user: MeUserDto;

  @ApiProperty({ type: MeTenantDto })
  tenant: MeTenantDto;

  @ApiProperty({
    type: [String],
    description: 'The tenant role, plus platform_admin for platform admins',
    example: ['admin'],
  })
  roles: string[];
}
