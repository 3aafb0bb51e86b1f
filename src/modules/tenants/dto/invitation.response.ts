import { TENANT_ROLES } from 'src/core/context/records';
import { ApiProperty } from '@nestjs/swagger';
import { CursorPageQuery } from 'src/common/cursor-page.query';
import { EnumFilter } from 'src/common/decorators/dto-fields.decorator';
import type { TenantRole } from 'src/core/context/tenant-context';
import {
  INVITATION_STATUSES,
  type Invitation,
  type InvitationStatus,
} from '../invitations.repository';

export class InvitationResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'ada@acme.example' })
  email: string;

  @ApiProperty({ enum: TENANT_ROLES })
  role: TenantRole;

  @ApiProperty({ enum: INVITATION_STATUSES })
  status: InvitationStatus;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  invited_by: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  expires_at: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  accepted_at: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  accepted_by: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revoked_at: string | null;

  @ApiProperty({
    description: 'What the invitee sends to accept: any request with this X-Tenant header',
    example: 'acme',
  })
  tenant_slug: string;
}

export class InvitationPageResponse {
  @ApiProperty({ type: [InvitationResponse] })
  items: InvitationResponse[];

  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export class ListInvitationsQuery extends CursorPageQuery {
  @EnumFilter(INVITATION_STATUSES)
  status?: InvitationStatus;
}

export function toInvitationResponse(invitation: Invitation, slug: string): InvitationResponse {
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    status: invitation.status,
    invited_by: invitation.invitedBy,
    created_at: invitation.createdAt.toISOString(),
    expires_at: invitation.expiresAt.toISOString(),
    accepted_at: iso(invitation.acceptedAt),
    accepted_by: invitation.acceptedBy,
    revoked_at: iso(invitation.revokedAt),
    tenant_slug: slug,
  };
}
