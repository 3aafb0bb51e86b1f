import type { DataSource } from 'typeorm';
import { readTenantTables } from 'src/core/database/isolation-inspector';

export interface AuditFinding {
  readonly check: string;
  readonly tenant?: string;
  readonly table?: string;
  readonly detail: string;
  readonly rows?: number;
}

export interface TenantAuditReport {
  readonly ok: boolean;
  readonly tenants_checked: number;
  readonly checks: readonly string[];
  readonly findings: readonly AuditFinding[];
}

/**
 * A row of `table` whose parent is not in the row's own tenant. Run inside a transaction bound to
 * the tenant: row-level security hides every other tenant's rows, so a parent of another tenant
 * looks missing, which is exactly the violation (no query needs to bypass RLS).
 */
const REFERENCE_CHECKS: { check: string; table: string; sql: string }[] = [
  {
    check: 'board owner in another tenant',
    table: 'boards',
    sql: `SELECT count(*)::int AS n FROM boards b WHERE b.tenant_id = current_setting('app.tenant_id')::uuid AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = b.tenant_id AND u.id = b.owner_id)`,
  },
  {
    check: 'membership of a board in another tenant',
    table: 'board_members',
    sql: `SELECT count(*)::int AS n FROM board_members m WHERE m.tenant_id = current_setting('app.tenant_id')::uuid AND NOT EXISTS (SELECT 1 FROM boards b WHERE b.tenant_id = m.tenant_id AND b.id = m.board_id)`,
  },
  {
    check: 'membership of a user of another tenant',
    table: 'board_members',
    sql: `SELECT count(*)::int AS n FROM board_members m WHERE m.tenant_id = current_setting('app.tenant_id')::uuid AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = m.tenant_id AND u.id = m.user_id)`,
  },
  {
    check: 'generation on a board of another tenant',
    table: 'generations',
    sql: `SELECT count(*)::int AS n FROM generations g WHERE g.tenant_id = current_setting('app.tenant_id')::uuid AND NOT EXISTS (SELECT 1 FROM boards b WHERE b.tenant_id = g.tenant_id AND b.id = g.board_id)`,
  },
  {
    check: 'generation created by a user of another tenant',
    table: 'generations',
    sql: `SELECT count(*)::int AS n FROM generations g WHERE g.tenant_id = current_setting('app.tenant_id')::uuid AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = g.tenant_id AND u.id = g.user_id)`,
  },
  {
    check: 'idempotency key of a user of another tenant',
    table: 'idempotency_keys',
    sql: `SELECT count(*)::int AS n FROM idempotency_keys k WHERE k.tenant_id = current_setting('app.tenant_id')::uuid AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = k.tenant_id AND u.id = k.user_id)`,
  },
];

/**
 * `boards tenant audit`: cross-tenant references (per tenant, through RLS), the row-level
 * security of every table with a tenant_id column, and the runtime role's privileges.
 */
export async function auditTenants(
  owner: DataSource,
  options: { runtimeRole: string; tenantSlug?: string },
  progress: (message: string) => void,
): Promise<TenantAuditReport> {
  const findings: AuditFinding[] = [];

  const tables = await readTenantTables(owner);
  progress(`checking row-level security on ${tables.length} tables`);
  for (const table of tables) {
    if (!table.rls_enabled || !table.rls_forced || !table.has_policy) {
      findings.push({
        check: 'table without forced row-level security',
        table: table.table_name,
        detail: `enabled=${table.rls_enabled} forced=${table.rls_forced} policy=${table.has_policy}`,
      });
    }
  }

  progress(`checking the privileges of runtime role ${options.runtimeRole}`);
  const [role] = (await owner.query(
    `SELECT rolsuper, rolbypassrls,
            (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind IN ('r','p') AND pg_has_role(r.oid, c.relowner, 'USAGE')) AS owned
       FROM pg_roles r WHERE rolname = $1`,
    [options.runtimeRole],
  )) as { rolsuper: boolean; rolbypassrls: boolean; owned: number }[];
  if (!role) {
    findings.push({
      check: 'runtime role privileges',
      detail: `role ${options.runtimeRole} does not exist`,
    });
  } else {
    if (role.rolsuper)
      findings.push({ check: 'runtime role privileges', detail: 'runtime role is a superuser' });
    if (role.rolbypassrls)
      findings.push({ check: 'runtime role privileges', detail: 'runtime role has BYPASSRLS' });
    if (role.owned > 0)
      findings.push({
        check: 'runtime role privileges',
        detail: `runtime role owns ${role.owned} table(s)`,
      });
    const risky = (await owner.query(
      `SELECT t.table_name::text AS table_name, p.privilege
         FROM unnest($2::text[]) AS t(table_name)
         CROSS JOIN unnest(ARRAY['UPDATE', 'TRUNCATE', 'DELETE']) AS p(privilege)
        WHERE (p.privilege = 'UPDATE' AND has_column_privilege($1, t.table_name, 'tenant_id', 'UPDATE'))
           OR (p.privilege = 'TRUNCATE' AND has_table_privilege($1, t.table_name, 'TRUNCATE'))
           OR (p.privilege = 'DELETE' AND t.table_name = 'audit_events' AND has_table_privilege($1, t.table_name, 'DELETE'))`,
      [options.runtimeRole, tables.map((t) => t.table_name)],
    )) as { table_name: string; privilege: string }[];
    for (const grant of risky) {
      findings.push({
        check: 'runtime role privileges',
        table: grant.table_name,
        detail: grant.privilege === 'UPDATE' ? 'may UPDATE tenant_id' : `may ${grant.privilege}`,
      });
    }
  }

  const tenants = (await owner.query(
    options.tenantSlug
      ? 'SELECT id, slug FROM tenants WHERE slug = $1'
      : 'SELECT id, slug FROM tenants ORDER BY slug',
    options.tenantSlug ? [options.tenantSlug] : [],
  )) as { id: string; slug: string }[];
  if (options.tenantSlug && tenants.length === 0)
    throw new Error(`no tenant with slug "${options.tenantSlug}"`);
  progress(`checking cross-tenant references in ${tenants.length} tenant(s)`);
  let done = 0;
  for (const tenant of tenants) {
    await owner.transaction('REPEATABLE READ', async (manager) => {
      await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
      for (const check of REFERENCE_CHECKS) {
        const [{ n }] = (await manager.query(check.sql)) as { n: number }[];
        if (n > 0) {
          findings.push({
            check: check.check,
            tenant: tenant.slug,
            table: check.table,
            rows: n,
            detail: `${n} row(s)`,
          });
        }
      }
    });
    done++;
    if (done % 100 === 0 || done === tenants.length)
      progress(`  ${done}/${tenants.length} tenants`);
  }

  return {
    ok: findings.length === 0,
    tenants_checked: tenants.length,
    checks: [
      'table without forced row-level security',
      'runtime role privileges',
      ...REFERENCE_CHECKS.map((check) => check.check),
    ],
    findings,
  };
}
