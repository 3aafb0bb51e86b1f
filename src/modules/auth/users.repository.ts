import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TenantRole } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import type { UserRecord } from 'src/core/cache/tenant-cache';

/** Whether a first request may create the user, and whether the tenant's first user becomes admin. */
export interface ProvisioningRules {
  readonly mayCreate: boolean;
  readonly mayBecomeAdmin: boolean;
}

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
  id: string;
  tenant_role: TenantRole;
  email: string | null;
  display_name: string | null;
  avatar_url: string | null;
}

const COLUMNS = 'id, tenant_role, email, display_name, avatar_url';
const FIND_SQL = `SELECT ${COLUMNS} FROM users WHERE tenant_id = $1::uuid AND auth_provider = $2 AND auth_subject = $3`;

/**
 * Just-in-time users, keyed by (tenant, auth provider, subject). Each call is one short tenant
 * transaction of its own (never the request's), so provisioning commits before the handler runs.
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly transactions: TenantTransactions) {}

  /**
   * Finds or creates the user and fills its empty profile fields (never overwriting one).
   * With `mayCreate: false` only an existing user is returned (undefined otherwise).
   * The first user of a tenant (system users such as the sample-data owner aside) becomes its
   * `admin`, everyone after it `member`: the insert holds
   * a transaction-scoped advisory lock on the tenant, so two first requests cannot both see an
   * empty tenant. A concurrent insert of the same identity ends in ON CONFLICT DO NOTHING and a
   * re-read.
   */
  provision(tenantId: string, identity: UserIdentity, profile: UserProfile): Promise<UserRecord>;
  provision(
    tenantId: string,
    identity: UserIdentity,
    profile: UserProfile,
    options: ProvisioningRules,
  ): Promise<UserRecord | undefined>;
  async provision(
    tenantId: string,
    identity: UserIdentity,
    profile: UserProfile,
    options: ProvisioningRules = { mayCreate: true, mayBecomeAdmin: true },
  ): Promise<UserRecord | undefined> {
    // The common case — the user exists and the token adds nothing to its profile — is one read
    // in a one-round-trip read-only tenant transaction; anything else takes the write transaction.
    const [row] = await this.transactions.read<UserRow>(tenantId, FIND_SQL, [
      tenantId,
      identity.provider,
      identity.subject,
    ]);
    const known = row && toRecord(row);
    if (known && !profileFillsGaps(known, profile)) return known;
    return this.transactions.run(tenantId, async (manager) => {
      const existing = await this.find(manager, tenantId, identity);
      if (existing) return this.fillProfile(manager, tenantId, existing, profile);
      if (!options.mayCreate) return undefined;
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1::text))', [tenantId]);
      const inserted = (await manager.query(
        `INSERT INTO users (tenant_id, tenant_role, auth_provider, auth_subject, email, display_name, avatar_url)
         SELECT $1::uuid,
                CASE WHEN NOT $7::boolean
                       OR EXISTS (SELECT 1 FROM users WHERE tenant_id = $1::uuid AND auth_provider <> 'system')
                     THEN 'member' ELSE 'admin' END,
                $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::text
         ON CONFLICT (tenant_id, auth_provider, auth_subject) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          tenantId,
          identity.provider,
          identity.subject,
          profile.email,
          profile.displayName,
          profile.avatarUrl,
          options.mayBecomeAdmin,
        ],
      )) as UserRow[];
      if (inserted.length > 0) return toRecord(inserted[0]);
      const raced = await this.find(manager, tenantId, identity);
      if (!raced) throw new Error('user vanished right after a conflicting insert');
      return this.fillProfile(manager, tenantId, raced, profile);
    });
  }

  private async find(
    manager: EntityManager,
    tenantId: string,
    identity: UserIdentity,
  ): Promise<UserRecord | undefined> {
    const rows = (await manager.query(FIND_SQL, [
      tenantId,
      identity.provider,
      identity.subject,
    ])) as UserRow[];
    return rows[0] && toRecord(rows[0]);
  }

  private async fillProfile(
    manager: EntityManager,
    tenantId: string,
    user: UserRecord,
    profile: UserProfile,
  ): Promise<UserRecord> {
    if (!profileFillsGaps(user, profile)) return user;
    // TypeORM's postgres driver answers an UPDATE with [rows, affected count].
    const [rows] = (await manager.query(
      `UPDATE users
          SET email = COALESCE(email, $3::varchar),
              display_name = COALESCE(display_name, $4::varchar),
              avatar_url = COALESCE(avatar_url, $5::text),
              updated_at = now()
        WHERE tenant_id = $1::uuid AND id = $2::uuid
        RETURNING ${COLUMNS}`,
      [tenantId, user.id, profile.email, profile.displayName, profile.avatarUrl],
    )) as [UserRow[], number];
    return rows[0] ? toRecord(rows[0]) : user;
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
    tenantRole: row.tenant_role,
    email: row.email,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
  };
}
