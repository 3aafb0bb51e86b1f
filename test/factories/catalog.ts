import type { SqlSession } from './seed';

/** The tenant-owned tables (DESIGN.md §3, invitations from explicit admission, usage from fairness). */
export const KNOWN_TENANT_TABLES = [
  'audit_events',
  'board_members',
  'boards',
  'generations',
  'idempotency_keys',
  'tenant_invitations',
  'tenant_usage',
  'users',
] as const;

/** Every ordinary or partitioned table in the public schema with a tenant_id column, sorted. */
export async function tenantOwnedTables(db: SqlSession): Promise<string[]> {
  const rows = (await db.query(`
    SELECT c.relname::text AS table_name
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY 1`)) as { table_name: string }[];
  return rows.map((row) => row.table_name);
}
