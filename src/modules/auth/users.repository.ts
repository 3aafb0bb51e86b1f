import { Injectable } from '@nestjs/common';
import type { MembershipSource, TenantRole } from 'src/core/context/tenant-context';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';
import {
  MEMBERSHIP_SOURCES,
  sharedWord,
  TENANT_ROLES,
  type UserRecord,
} from 'src/core/context/records';

export interface UserIdentity {
  readonly provider: string;
  readonly subject: string;
}

/** Profile fields taken from the token; each fills the stored value only while that is empty. */
export interface UserProfile {
  readonly email: string | null;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

interface UserRow {
  tenant_id: string;
  id: string;
  tenant_role: TenantRole;
  membership_source: MembershipSource;
  email: string | null;
  display_name: string | null;
  avatar_url: string | null;
}

const COLUMNS = 'tenant_id, id, tenant_role, membership_source, email, display_name, avatar_url';
const FIND_SQL = `SELECT ${COLUMNS} FROM users WHERE tenant_id = $1::uuid AND auth_provider = $2 AND auth_subject = $3`;

/**
 * Just-in-time users, keyed by (tenant, auth provider, subject): the membership rows of
 * admission. `read` is a one-round-trip read of its own; every other method runs in the open
 * tenant transaction (UserProvisioningService opens it), so admission commits before the handler
 * runs.
 */
@Injectable()
export class UsersRepository extends TenantScopedRepository {
  /** The user of this identity in the tenant, in a read-only tenant transaction of its own. */
  async read(tenantId: string, identity: UserIdentity): Promise<UserRecord | undefined> {
    const [row] = await this.select<UserRow>('users', tenantId, FIND_SQL, [
      tenantId,
      identity.provider,
      identity.subject,
    ]);
    return row && toRecord(row);
  }

  /**
   * Serializes admission and membership changes of one tenant until the transaction ends, so two
   * first requests cannot both see a tenant without admin, and two admins demoting each other
   * cannot both see the other one still there.
   */
  async lockTenant(tenantId: string): Promise<void> {
    await this.execute('SELECT pg_advisory_xact_lock(hashtext($1::text))', [tenantId]);
  }

  async find(tenantId: string, identity: UserIdentity): Promise<UserRecord | undefined> {
    const rows = await this.select<UserRow>('users', tenantId, FIND_SQL, [
      tenantId,
      identity.provider,
      identity.subject,
    ]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Whether the tenant has an admin who is still a member. */
  async hasActiveAdmin(tenantId: string): Promise<boolean> {
    const [row] = await this.aggregate<{ present: boolean }>(
      tenantId,
      `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1::uuid AND tenant_role = 'admin'
                         AND membership_source NOT IN ('removed', 'system')) AS present`,
      [tenantId],
    );
    return row.present;
  }

  async insert(
    tenantId: string,
    identity: UserIdentity,
    profile: UserProfile,
    membership: { source: MembershipSource; role: TenantRole },
  ): Promise<UserRecord> {
    const rows = (await this.execute(
      `INSERT INTO users (tenant_id, tenant_role, membership_source, auth_provider, auth_subject, email, display_name, avatar_url)
       VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8)
       RETURNING ${COLUMNS}`,
      [
        tenantId,
        membership.role,
        membership.source,
        identity.provider,
        identity.subject,
        profile.email,
        profile.displayName,
        profile.avatarUrl,
      ],
      { table: 'users', tenantId },
    )) as UserRow[];
    return toRecord(rows[0]);
  }

  /** Sets how the user belongs to the tenant (and its role), filling empty profile fields. */
  async setMembership(
    tenantId: string,
    userId: string,
    profile: UserProfile,
    membership: { source: MembershipSource; role: TenantRole },
  ): Promise<UserRecord> {
    return this.update(tenantId, userId, `membership_source = $6, tenant_role = $7,`, profile, [
      membership.source,
      membership.role,
    ]);
  }

  /** Fills the user's empty profile fields from the token (never overwriting one). */
  async fillProfile(tenantId: string, user: UserRecord, profile: UserProfile): Promise<UserRecord> {
    if (!profileFillsGaps(user, profile)) return user;
    return this.update(tenantId, user.id, '', profile, []);
  }

  private async update(
    tenantId: string,
    userId: string,
    extraSet: string,
    profile: UserProfile,
    extraParams: unknown[],
  ): Promise<UserRecord> {
    // TypeORM's postgres driver answers an UPDATE with [rows, affected count].
    const [rows] = (await this.execute(
      `UPDATE users
          SET ${extraSet}
              email = COALESCE(email, $3::varchar),
              display_name = COALESCE(display_name, $4::varchar),
              avatar_url = COALESCE(avatar_url, $5::text),
              updated_at = now()
        WHERE tenant_id = $1::uuid AND id = $2::uuid
        RETURNING ${COLUMNS}`,
      [tenantId, userId, profile.email, profile.displayName, profile.avatarUrl, ...extraParams],
      { table: 'users', tenantId },
    )) as [UserRow[], number];
    if (!rows[0]) throw new Error('user vanished inside its tenant transaction');
    return toRecord(rows[0]);
  }
}

/** True when the token carries a value for a profile field the user does not have yet. */
export function profileFillsGaps(user: UserRecord, profile: UserProfile): boolean {
  return (
    (user.email === null && profile.email !== null) ||
    (user.displayName === null && profile.displayName !== null) ||
    (user.avatarUrl === null && profile.avatarUrl !== null)
  );
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    tenantRole: sharedWord(TENANT_ROLES, row.tenant_role),
    membershipSource: sharedWord(MEMBERSHIP_SOURCES, row.membership_source),
    email: row.email,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
  };
}
