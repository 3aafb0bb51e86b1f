import { TENANT_ROLES } from 'src/core/context/records';
import { ApiProperty } from '@nestjs/swagger';
import { MEMBERSHIP_SOURCES, type MembershipSource } from 'src/core/context/tenant-context';
import type { TenantRole } from 'src/core/context/tenant-context';
import type { Member } from '../members.repository';

/** A member of the tenant, as its admins see it. */
export class TenantMemberResponse {
  @ApiProperty({ format: 'uuid' })
  user_id: string;

  @ApiProperty({ type: String, nullable: true })
  email: string | null;

  @ApiProperty({ type: String, nullable: true })
  display_name: string | null;

  @ApiProperty({ type: String, nullable: true })
  avatar_url: string | null;

  @ApiProperty({ enum: TENANT_ROLES })
  tenant_role: TenantRole;

  @ApiProperty({
    enum: MEMBERSHIP_SOURCES,
    description:
      'How the person belongs: claim (follows the identity provider), registration, setup_admin, invitation, domain, default, legacy (older than explicit admission); email_domain marks a pre-upgrade row under review that admits nobody until confirmed',
  })
  membership_source: MembershipSource;

  @ApiProperty({
    description: 'Identity namespace of the member: jwt, or oidc:<issuer>',
    example: 'oidc:login.acme.example',
  })
  auth_provider: string;

  @ApiProperty({ format: 'date-time' })
  joined_at: string;
}

export class TenantMemberPageResponse {
  @ApiProperty({ type: [TenantMemberResponse] })
  items: TenantMemberResponse[];

  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export function toTenantMemberResponse(member: Member): TenantMemberResponse {
  return {
    user_id: member.userId,
    email: member.email,
    display_name: member.displayName,
    avatar_url: member.avatarUrl,
    tenant_role: member.role,
    membership_source: member.source,
    auth_provider: member.provider,
    joined_at: member.joinedAt.toISOString(),
  };
}
