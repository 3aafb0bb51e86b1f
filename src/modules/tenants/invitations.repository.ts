import { Injectable } from '@nestjs/common';
import type { CursorPosition } from 'src/common/pagination';
import type { TenantRole } from 'src/core/context/tenant-context';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';
export const INVITATION_STATUSES: readonly InvitationStatus[] = [
  'pending',
  'accepted',
  'revoked',
  'expired',
];

export interface Invitation {
  readonly id: string;
  readonly email: string;
  readonly role: TenantRole;
  readonly status: InvitationStatus;
  readonly invitedBy: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly acceptedAt: Date | null;
  readonly acceptedBy: string | null;
  readonly revokedAt: Date | null;
}

interface InvitationRow {
  tenant_id: string;
  id: string;
  email: string;
  role: TenantRole;
  status: InvitationStatus;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
}

const STATUS_SQL = `CASE WHEN accepted_at IS NOT NULL THEN 'accepted'
                         WHEN revoked_at IS NOT NULL THEN 'revoked'
                         WHEN expires_at <= now() THEN 'expired'
                         ELSE 'pending' END`;
const COLUMNS = `tenant_id, id, email, role, ${STATUS_SQL} AS status, invited_by, created_at, expires_at,
                 accepted_at, accepted_by, revoked_at`;
/** Neither accepted nor revoked: holds the (tenant, e-mail) slot, even once expired. */
const OPEN = 'accepted_at IS NULL AND revoked_at IS NULL';

/**
 * Invitations to a tenant (tenant-owned: row-level security, in the open tenant transaction).
 * E-mail addresses are stored canonical (see canonicalEmail) and compared exactly.
 */
@Injectable()
export class InvitationsRepository extends TenantScopedRepository {
  /** The pending (open and unexpired) invitation of this canonical address, if any. */
  async pendingFor(tenantId: string, email: string): Promise<Invitation | undefined> {
    return this.one(
      `SELECT ${COLUMNS} FROM tenant_invitations
        WHERE tenant_id = $1::uuid AND email = $2 AND ${OPEN} AND expires_at > now()
        FOR UPDATE`,
      [tenantId, email],
    );
  }

  /** Whether a pending invitation exists, in a read-only tenant transaction of its own. */
  async isPending(tenantId: string, email: string): Promise<boolean> {
    const [row] = await this.aggregate<{ pending: boolean }>(
      tenantId,
      `SELECT EXISTS (SELECT 1 FROM tenant_invitations
                       WHERE tenant_id = $1::uuid AND email = $2 AND ${OPEN} AND expires_at > now()) AS pending`,
      [tenantId, email],
    );
    return row.pending;
  }

  async markAccepted(tenantId: string, id: string, userId: string): Promise<void> {
    await this.execute(
      `UPDATE tenant_invitations SET accepted_at = now(), accepted_by = $3::uuid
        WHERE tenant_id = $1::uuid AND id = $2::uuid`,
      [tenantId, id, userId],
    );
  }

  /**
   * Whether someone was named admin of the tenant by invitation (pending, accepted or expired,
   * but not revoked): then the tenant is not claim-only, and its first claim user is no admin.
   */
  async hasAdminDesignation(tenantId: string): Promise<boolean> {
    const [row] = await this.aggregate<{ present: boolean }>(
      tenantId,
      `SELECT EXISTS (SELECT 1 FROM tenant_invitations
                       WHERE tenant_id = $1::uuid AND role = 'admin' AND revoked_at IS NULL) AS present`,
      [tenantId],
    );
    return row.present;
  }

  /**
   * Creates an invitation; undefined when a pending one for the address exists. An open but
   * expired one is revoked first (it only blocks the slot).
   */
  async create(invitation: {
    tenantId: string;
    email: string;
    role: TenantRole;
    invitedBy: string | null;
    ttlDays: number;
  }): Promise<Invitation | undefined> {
    await this.execute(
      `UPDATE tenant_invitations SET revoked_at = now()
        WHERE tenant_id = $1::uuid AND email = $2 AND ${OPEN} AND expires_at <= now()`,
      [invitation.tenantId, invitation.email],
    );
    return this.one(
      `INSERT INTO tenant_invitations (tenant_id, email, role, invited_by, expires_at)
       VALUES ($1::uuid, $2, $3, $4::uuid, now() + make_interval(days => $5::int))
       ON CONFLICT (tenant_id, email) WHERE ${OPEN} DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        invitation.tenantId,
        invitation.email,
        invitation.role,
        invitation.invitedBy,
        invitation.ttlDays,
      ],
    );
  }

  async find(tenantId: string, id: string): Promise<Invitation | undefined> {
    return this.one(
      `SELECT ${COLUMNS} FROM tenant_invitations WHERE tenant_id = $1::uuid AND id = $2::uuid`,
      [tenantId, id],
    );
  }

  /** Revokes an open invitation; undefined when none with this id is open. */
  async revoke(tenantId: string, id: string): Promise<Invitation | undefined> {
    const [rows] = (await this.execute(
      `UPDATE tenant_invitations SET revoked_at = now()
        WHERE tenant_id = $1::uuid AND id = $2::uuid AND ${OPEN}
        RETURNING ${COLUMNS}`,
      [tenantId, id],
      { table: 'tenant_invitations', tenantId },
    )) as [InvitationRow[], number];
    return rows[0] && toInvitation(rows[0]);
  }

  /** Newest first, `limit + 1` rows from after `after`; optionally one status only. */
  async list(query: {
    tenantId: string;
    status?: InvitationStatus;
    limit: number;
    after?: CursorPosition;
  }): Promise<Invitation[]> {
    const params: unknown[] = [query.tenantId, query.limit + 1];
    let filter = '';
    if (query.status) {
      params.push(query.status);
      filter += ` AND ${STATUS_SQL} = $${params.length}`;
    }
    if (query.after) {
      params.push(query.after.value, query.after.id);
      filter += ` AND (created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    const rows = await this.select<InvitationRow>(
      'tenant_invitations',
      query.tenantId,
      `SELECT ${COLUMNS} FROM tenant_invitations WHERE tenant_id = $1::uuid${filter}
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      params,
    );
    return rows.map(toInvitation);
  }

  /** One row of a statement whose first parameter is the tenant id (checked like every read). */
  private async one(sql: string, params: unknown[]): Promise<Invitation | undefined> {
    const tenantId = String(params[0]);
    const rows = (await this.execute(sql, params, {
      table: 'tenant_invitations',
      tenantId,
    })) as InvitationRow[];
    return rows[0] && toInvitation(rows[0]);
  }
}

function toInvitation(row: InvitationRow): Invitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: row.status,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    acceptedBy: row.accepted_by,
    revokedAt: row.revoked_at,
  };
}
