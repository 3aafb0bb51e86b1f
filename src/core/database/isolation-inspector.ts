import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface IsolationReport {
  readonly status: 'ok' | 'degraded';
  /** The role queries run as (current_user). */
  readonly runtimeRole: string;
  readonly problems: readonly string[];
}

interface RoleRow {
  role: string;
  login_role: string;
  is_superuser: boolean;
  bypasses_rls: boolean;
  login_is_superuser: boolean;
  owned_tables: number;
}

/** A table with a tenant_id column, and its row-level security as the catalog records it. */
export interface TenantTableSecurity {
  table_name: string;
  rls_enabled: boolean;
  rls_forced: boolean;
  has_policy: boolean;
}

/** Every table of the current schema with a tenant_id column (the tenant-owned ones). */
export async function readTenantTables(
  source: Pick<DataSource, 'query'>,
): Promise<TenantTableSecurity[]> {
  return (await source.query(`
    SELECT c.relname::text AS table_name,
           c.relrowsecurity AS rls_enabled,
           c.relforcerowsecurity AS rls_forced,
           EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) AS has_policy
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
     ORDER BY 1`)) as TenantTableSecurity[];
}

/**
 * Reads from the catalog whether the runtime connection is really subject to row-level security:
 * not a superuser, no BYPASSRLS, owns no table, logged in as a plain role, and every table with a
 * tenant_id column has RLS enabled, forced and a policy.
 */
@Injectable()
export class IsolationInspector {
  constructor(private readonly dataSource: DataSource) {}

  async inspect(): Promise<IsolationReport> {
    const [role] = (await this.dataSource.query(`
      SELECT current_user::text AS role,
             session_user::text AS login_role,
             r.rolsuper AS is_superuser,
             r.rolbypassrls AS bypasses_rls,
             (SELECT s.rolsuper FROM pg_roles s WHERE s.rolname = session_user) AS login_is_superuser,
             (SELECT count(*)::int FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                 AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owned_tables
        FROM pg_roles r WHERE r.rolname = current_user`)) as RoleRow[];
    const tables = await readTenantTables(this.dataSource);

    const problems: string[] = [];
    if (role.is_superuser) problems.push(`runtime role ${role.role} is a superuser`);
    if (role.bypasses_rls) problems.push(`runtime role ${role.role} has BYPASSRLS`);
    if (role.owned_tables > 0)
      problems.push(
        `runtime role ${role.role} owns or can act as the owner of ${role.owned_tables} table(s)`,
      );
    if (role.login_is_superuser && role.login_role !== role.role) {
      problems.push(
        `the connection logs in as superuser ${role.login_role} and only switches to ${role.role}`,
      );
    }
    if (tables.length === 0)
      problems.push('no tenant-owned tables found (migrations not applied?)');
    for (const table of tables) {
      if (!table.rls_enabled || !table.rls_forced || !table.has_policy) {
        problems.push(
          `table ${table.table_name} lacks enabled+forced row-level security with a policy`,
        );
      }
    }
    return { status: problems.length === 0 ? 'ok' : 'degraded', runtimeRole: role.role, problems };
  }
}
