import { Injectable } from '@nestjs/common';
import type { CursorPosition } from 'src/common/pagination';
import type { MembershipSource, TenantRole } from 'src/core/context/tenant-context';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';

/** A person who belongs to the tenant (a user row that is neither removed nor the system user). */
export interface Member {
  readonly userId: string;
  readonly provider: string;
  readonly subject: string;
  readonly email: string | null;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
  readonly role: TenantRole;
  readonly source: MembershipSource;
  readonly joinedAt: Date;
}

interface MemberRow {
  tenant_id: string;
  id: string;
  auth_provider: string;
  auth_subject: string;
  email: string | null;
  display_name: string | null;
  avatar_url: string | null;
  tenant_role: TenantRole;
  membership_source: MembershipSource;
  created_at: Date;
}

const COLUMNS =
  'tenant_id, id, auth_provider, auth_subject, email, display_name, avatar_url, tenant_role, membership_source, created_at';
/** Rows that are a person's membership. `email_domain` rows are listed: admins review them. */
const ACTIVE = `membership_source NOT IN ('removed', 'system')`;

/**
 * Tenant membership management over the `users` rows (the membership rows that admission writes),
 * in the open tenant transaction. Callers hold UsersRepository-compatible locking: they take the
 * tenant's advisory lock (lockTenant) before checking the admin count, so two admins demoting each
 * other at once cannot both succeed.
 */
@Injectable()
export class MembersRepository extends TenantScopedRepository {
  /** Same lock as admission (UsersRepository.lockTenant): one membership change at a time. */
  async lockTenant(tenantId: string): Promise<void> {
    await this.execute('SELECT pg_advisory_xact_lock(hashtext($1::text))', [tenantId]);
  }

  /** Oldest first, `limit + 1` rows after `after`. */
  async list(query: {
    tenantId: string;
    role?: TenantRole;
    source?: MembershipSource;
    limit: number;
    after?: CursorPosition;
  }): Promise<Member[]> {
    const params: unknown[] = [query.tenantId, query.limit + 1];
    let filter = '';
    if (query.role) {
      params.push(query.role);
      filter += ` AND tenant_role = $${params.length}`;
    }
    if (query.source) {
      params.push(query.source);
      filter += ` AND membership_source = $${params.length}`;
    }
    if (query.after) {
      params.push(query.after.value, query.after.id);
      filter += ` AND (created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    const rows = await this.select<MemberRow>(
      'users',
      query.tenantId,
      `SELECT ${COLUMNS} FROM users WHERE tenant_id = $1::uuid AND ${ACTIVE}${filter}
        ORDER BY created_at, id LIMIT $2`,
      params,
    );
    return rows.map(toMember);
  }

  async find(tenantId: string, userId: string): Promise<Member | undefined> {
    const rows = await this.select<MemberRow>(
      'users',
      tenantId,
      `SELECT ${COLUMNS} FROM users WHERE tenant_id = $1::uuid AND id = $2::uuid AND ${ACTIVE}`,
      [tenantId, userId],
    );
    return rows[0] && toMember(rows[0]);
  }

  /** The longest-standing admin other than `exceptUserId`, else the longest-standing member. */
  async successor(tenantId: string, exceptUserId: string): Promise<Member | undefined> {
    const rows = await this.select<MemberRow>(
      'users',
      tenantId,
      `SELECT ${COLUMNS} FROM users
        WHERE tenant_id = $1::uuid AND id <> $2::uuid AND ${ACTIVE} AND membership_source <> 'email_domain'
        ORDER BY tenant_role = 'admin' DESC, created_at, id LIMIT 1`,
      [tenantId, exceptUserId],
    );
    return rows[0] && toMember(rows[0]);
  }

  async countAdminsExcept(tenantId: string, exceptUserId: string): Promise<number> {
    const [row] = await this.aggregate<{ admins: number }>(
      tenantId,
      `SELECT count(*)::int AS admins FROM users
        WHERE tenant_id = $1::uuid AND id <> $2::uuid AND tenant_role = 'admin' AND ${ACTIVE}`,
      [tenantId, exceptUserId],
    );
    return row.admins;
  }

  async setRole(tenantId: string, userId: string, role: TenantRole): Promise<Member> {
    return this.update(tenantId, userId, 'tenant_role = $3', [role]);
  }

  /**
   * Ends the membership: the row stays (the person's generations and audit events keep their
   * author), marked `removed` and demoted; only a new invitation readmits it.
   */
  async markRemoved(tenantId: string, userId: string): Promise<Member> {
    return this.update(
      tenantId,
      userId,
      `tenant_role = 'member', membership_source = 'removed'`,
      [],
    );
  }

  /** Marks a reviewed `email_domain` row as a membership of its own (`legacy`). */
  async confirm(tenantId: string, userId: string): Promise<Member> {
    return this.update(tenantId, userId, `membership_source = 'legacy'`, []);
  }

  private async update(
    tenantId: string,
    userId: string,
    set: string,
    params: unknown[],
  ): Promise<Member> {
    const [rows] = (await this.execute(
      `UPDATE users SET ${set}, updated_at = now()
        WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING ${COLUMNS}`,
      [tenantId, userId, ...params],
      { table: 'users', tenantId },
    )) as [MemberRow[], number];
    if (!rows[0]) throw new Error('member vanished inside its tenant transaction');
    return toMember(rows[0]);
  }
}

function toMember(row: MemberRow): Member {
  return {
    userId: row.id,
    provider: row.auth_provider,
    subject: row.auth_subject,
    email: row.email,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    role: row.tenant_role,
    source: row.membership_source,
    joinedAt: row.created_at,
  };
}
