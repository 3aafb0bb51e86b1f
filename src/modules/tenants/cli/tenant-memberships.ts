import type { DataSource } from 'typeorm';
import type { MembershipSource } from 'src/core/context/tenant-context';

export interface MembershipRow {
  readonly tenant: string;
  readonly user_id: string;
  readonly email: string | null;
  readonly auth_provider: string;
  readonly auth_subject: string;
  readonly tenant_role: string;
  readonly membership_source: MembershipSource;
  readonly joined_at: string;
}

/**
 * `boards tenant memberships`: the user rows of one membership source, tenant by tenant (owner
 * role; each tenant read in a transaction bound to it, so row-level security applies). With
 * `confirm`, rows of source `email_domain` (pre-upgrade rows the retired e-mail first-label rule
 * may have created, which admit nobody until confirmed) become `legacy` memberships, in the same
 * transaction as their listing, each with a `tenant.member.confirm` audit event.
 */
export async function listMemberships(
  owner: DataSource,
  options: { source: MembershipSource; tenantSlug?: string; confirm: boolean },
  progress: (message: string) => void,
): Promise<MembershipRow[]> {
  if (options.confirm && options.source !== 'email_domain') {
    throw new Error('--confirm applies to --source email_domain only');
  }
  const tenants = (await owner.query(
    options.tenantSlug
      ? 'SELECT id::text AS id, slug FROM tenants WHERE slug = $1'
      : 'SELECT id::text AS id, slug FROM tenants ORDER BY slug',
    options.tenantSlug ? [options.tenantSlug] : [],
  )) as { id: string; slug: string }[];
  if (options.tenantSlug && tenants.length === 0)
    throw new Error(`no tenant with slug "${options.tenantSlug}"`);
  const found: MembershipRow[] = [];
  let done = 0;
  for (const tenant of tenants) {
    const rows = await owner.transaction(async (manager) => {
      await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
      const listed = (await manager.query(
        `SELECT id::text AS user_id, email, auth_provider, auth_subject, tenant_role,
                membership_source, created_at
           FROM users WHERE tenant_id = $1::uuid AND membership_source = $2
          ORDER BY created_at, id`,
        [tenant.id, options.source],
      )) as (Omit<MembershipRow, 'tenant' | 'joined_at'> & { created_at: Date })[];
      if (options.confirm && listed.length > 0) {
        await manager.query(
          `UPDATE users SET membership_source = 'legacy', updated_at = now()
            WHERE tenant_id = $1::uuid AND membership_source = 'email_domain'
              AND id = ANY($2::uuid[])`,
          [tenant.id, listed.map((row) => row.user_id)],
        );
        // The tenant's audit trail says who kept them, whether or not the server logs audits.
        await manager.query(
          `INSERT INTO audit_events (action, target_type, target_id, outcome, actor_subject, details)
           SELECT 'tenant.member.confirm', 'member', id::text, 'success', 'cli:boards tenant memberships',
                  jsonb_build_object('from', 'email_domain', 'to', 'legacy')
             FROM unnest($1::uuid[]) AS id`,
          [listed.map((row) => row.user_id)],
        );
      }
      return listed;
    });
    for (const { created_at: createdAt, ...row } of rows) {
      found.push({ tenant: tenant.slug, ...row, joined_at: createdAt.toISOString() });
    }
    done++;
    if (done % 500 === 0) progress(`  ${done}/${tenants.length} tenants read`);
  }
  progress(
    `${found.length} membership(s) of source ${options.source} in ${tenants.length} tenant(s)` +
      (options.confirm ? `; confirmed as legacy memberships` : ''),
  );
  return found;
}
