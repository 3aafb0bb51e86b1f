import { createHash } from 'node:crypto';
import { legacyFirstLabelSlug } from 'migrations/1765065600000-explicit-admission';
import type { DataSource, EntityManager } from 'typeorm';

/** Tenant-owned tables in dependency order (parents first): the order of import. */
export const SNAPSHOT_TABLES = [
  'users',
  'tenant_invitations',
  'boards',
  'board_members',
  'generations',
  'audit_events',
  'idempotency_keys',
] as const;
export type SnapshotTable = (typeof SNAPSHOT_TABLES)[number];

/**
 * Tenant-owned data that is derived, not exported: the usage counters (migration 1765238400000)
 * and the stored sizes, which the import's own inserts rebuild through the same triggers.
 */
export const DERIVED_TABLES = ['tenant_usage'] as const;
const DERIVED_COLUMNS: Partial<Record<SnapshotTable, readonly string[]>> = {
  boards: ['payload_bytes', 'generation_count', 'member_count'],
  generations: ['payload_bytes'],
};

export const SNAPSHOT_FORMAT = 'boards-tenant-export';
/** 2: users.membership_source, tenant_invitations, the tenant's issuers and domains. */
export const SNAPSHOT_VERSION = 2;

export interface TenantSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  exported_at: string;
  tenant: {
    id: string;
    name: string;
    slug: string;
    status: string;
    settings: Record<string, unknown>;
    allowed_issuers: string[];
    claims_admit: boolean;
    /** A platform admin's quota overrides (absent in snapshots made before quotas). */
    quotas?: Record<string, number>;
    /** The tenant's own e-mail domains (registry rows, restored when no other tenant holds them). */
    domains: string[];
  };
  counts: Record<SnapshotTable, number>;
  checksums: Record<SnapshotTable, string>;
  tables: Record<SnapshotTable, Record<string, unknown>[]>;
}

type Row = Record<string, unknown>;

/** JSON with keys sorted at every level, so equal data gives equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Row)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Row)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Checksum of a table's rows, independent of the tenant they live in (tenant_id is left out, so
 * a snapshot restored under a new slug checks out equal).
 */
export function tableChecksum(rows: Row[]): string {
  const hash = createHash('sha256');
  for (const row of rows) {
    const { tenant_id: _tenant, ...rest } = row;
    hash.update(canonical(rest)).update('\n');
  }
  return hash.digest('hex');
}

/**
 * Reads every row the tenant owns through `manager`, whose transaction is bound to the tenant.
 * Filtered by tenant_id as well as by row-level security: an owner connection with BYPASSRLS (or
 * the embedded database's superuser) must not export other tenants.
 */
async function readTables(
  manager: EntityManager,
  progress: (message: string) => void,
): Promise<Record<SnapshotTable, Row[]>> {
  const tables = {} as Record<SnapshotTable, Row[]>;
  for (const table of SNAPSHOT_TABLES) {
    const derived = DERIVED_COLUMNS[table] ?? [];
    const row = derived.length
      ? `to_jsonb(t) - ARRAY[${derived.map((column) => `'${column}'`).join(', ')}]`
      : 'to_jsonb(t)';
    const rows = (await manager.query(
      `SELECT ${row} AS row FROM ${table} t WHERE t.tenant_id = current_setting('app.tenant_id')::uuid ORDER BY ${table === 'idempotency_keys' ? 'user_id, idempotency_key' : 'id'}`,
    )) as { row: Row }[];
    tables[table] = rows.map((r) => r.row);
    progress(`  ${table}: ${rows.length} rows`);
  }
  return tables;
}

function summarize(
  tables: Record<SnapshotTable, Row[]>,
): Pick<TenantSnapshot, 'counts' | 'checksums'> {
  const counts = {} as Record<SnapshotTable, number>;
  const checksums = {} as Record<SnapshotTable, string>;
  for (const table of SNAPSHOT_TABLES) {
    counts[table] = tables[table].length;
    checksums[table] = tableChecksum(tables[table]);
  }
  return { counts, checksums };
}

/**
 * A consistent snapshot of everything a tenant owns: one REPEATABLE READ transaction bound to the
 * tenant (row-level security keeps every other tenant out of it), as the owner role. `data`: the
 * tenant's own database (BOARDS_TENANT_ISOLATION=database), whose rows are read in a transaction
 * of their own there; the registry row and domains come from `owner` (the control database).
 */
export async function exportTenant(
  owner: DataSource,
  slug: string,
  progress: (message: string) => void,
  data?: DataSource,
): Promise<TenantSnapshot> {
  const runner = owner.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction('REPEATABLE READ');
    const [row] = (await runner.query(
      'SELECT id, name, slug, status, settings, allowed_issuers, claims_admit, quotas FROM tenants WHERE slug = $1',
      [slug],
    )) as Omit<TenantSnapshot['tenant'], 'domains'>[];
    if (!row) throw new Error(`no tenant with slug "${slug}"`);
    const domains = (await runner.query(
      'SELECT domain FROM tenant_domains WHERE tenant = $1::uuid ORDER BY domain',
      [row.id],
    )) as { domain: string }[];
    const tenant = { ...row, domains: domains.map((d) => d.domain) };
    progress(`exporting tenant ${slug} (${tenant.id})`);
    const tables = data
      ? await inTenantTransaction(data, tenant.id, 'REPEATABLE READ', (manager) =>
          readTables(manager, progress),
        )
      : await runner
          .query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id])
          .then(() => readTables(runner.manager, progress));
    await runner.commitTransaction();
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      exported_at: new Date().toISOString(),
      tenant,
      ...summarize(tables),
      tables,
    };
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw err;
  } finally {
    await runner.release();
  }
}

/** Runs `work` in a transaction of `dataSource` bound to `tenantId`; commits, or rolls back. */
export async function inTenantTransaction<T>(
  dataSource: DataSource,
  tenantId: string,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ',
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction(isolation);
    await runner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await work(runner.manager);
    await runner.commitTransaction();
    return result;
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw err;
  } finally {
    await runner.release();
  }
}

/** The counts and checksums of the tenant's rows as stored now (a move checks its source did not change). */
export async function tenantDataSummary(
  dataSource: DataSource,
  tenantId: string,
): Promise<Pick<TenantSnapshot, 'counts' | 'checksums'>> {
  return inTenantTransaction(dataSource, tenantId, 'REPEATABLE READ', async (manager) =>
    summarize(await readTables(manager, () => undefined)),
  );
}

/**
 * Writes the snapshot's rows as `tenantId`'s through `manager` (a transaction bound to it, whose
 * tenant row exists), then reads them back: they must match the snapshot's counts and checksums,
 * else it throws (and the caller's transaction rolls back).
 */
export async function writeTenantRows(
  manager: EntityManager,
  tenantId: string,
  snapshot: TenantSnapshot,
  progress: (message: string) => void,
): Promise<Pick<TenantSnapshot, 'counts' | 'checksums'>> {
  for (const table of SNAPSHOT_TABLES) {
    const rows = snapshot.tables[table].map((row) => ({ ...row, tenant_id: tenantId }));
    const columns = (await insertableColumns(manager, table)).join(', ');
    for (let start = 0; start < rows.length; start += 1_000) {
      await manager.query(
        `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`,
        [JSON.stringify(rows.slice(start, start + 1_000))],
      );
    }
    progress(`  ${table}: ${rows.length} rows`);
  }
  const restored = summarize(await readTables(manager, () => undefined));
  for (const table of SNAPSHOT_TABLES) {
    if (
      restored.counts[table] !== snapshot.counts[table] ||
      restored.checksums[table] !== snapshot.checksums[table]
    ) {
      throw new Error(`${table}: restored rows do not match the snapshot; nothing was imported`);
    }
  }
  return restored;
}

/**
 * Checks the document's shape and that its rows match its own counts and checksums. A version 1
 * snapshot (before explicit admission) is checked as written, then upgraded: its users become
 * `legacy` memberships (they kept their access across the upgrade too), and it has no
 * invitations, issuers or domains.
 */
export function validateSnapshot(document: unknown): TenantSnapshot {
  const snapshot = document as TenantSnapshot;
  if (snapshot?.format !== SNAPSHOT_FORMAT) throw new Error(`not a ${SNAPSHOT_FORMAT} document`);
  if (snapshot.version === 1) return upgradeVersion1(snapshot);
  if (snapshot.version !== SNAPSHOT_VERSION)
    throw new Error(`unsupported snapshot version ${String(snapshot.version)}`);
  return checkTables(snapshot, SNAPSHOT_TABLES);
}

function checkTables(snapshot: TenantSnapshot, tables: readonly SnapshotTable[]): TenantSnapshot {
  for (const table of tables) {
    const rows = snapshot.tables?.[table];
    if (!Array.isArray(rows)) throw new Error(`the snapshot has no ${table} table`);
    if (rows.length !== snapshot.counts[table])
      throw new Error(`${table}: ${rows.length} rows but the count says ${snapshot.counts[table]}`);
    if (tableChecksum(rows) !== snapshot.checksums[table])
      throw new Error(`${table}: checksum mismatch (the file was altered or truncated)`);
  }
  return snapshot;
}

/**
 * A version 1 snapshot's users get the membership sources the upgrade migration would have given
 * them: `system` for the sample-data owner, `email_domain` for the rows the retired e-mail rule
 * could have made (so a restore does not readmit them), `legacy` for the rest.
 */
function upgradeVersion1(snapshot: TenantSnapshot): TenantSnapshot {
  checkTables(
    snapshot,
    SNAPSHOT_TABLES.filter((table) => table !== 'tenant_invitations'),
  );
  const sourceOf = (user: Row): string => {
    if (user.auth_provider === 'system') return 'system';
    const email = typeof user.email === 'string' ? user.email : null;
    if (user.tenant_role !== 'admin' && legacyFirstLabelSlug(email) === snapshot.tenant.slug)
      return 'email_domain';
    return 'legacy';
  };
  const tables = {
    ...snapshot.tables,
    users: snapshot.tables.users.map((user) => ({ ...user, membership_source: sourceOf(user) })),
    tenant_invitations: [],
  };
  return {
    ...snapshot,
    version: SNAPSHOT_VERSION,
    tenant: { ...snapshot.tenant, allowed_issuers: [], claims_admit: true, domains: [] },
    tables,
    ...summarize(tables),
  };
}

export interface ImportResult {
  tenantId: string;
  slug: string;
  counts: Record<SnapshotTable, number>;
  checksums: Record<SnapshotTable, string>;
}

/**
 * Restores a snapshot into this database, as the owner role, in one transaction: under its own
 * id and slug, or under `newSlug` (a new tenant id; row ids are kept, since keys include the
 * tenant). Afterwards the stored rows are read back and must match the snapshot's counts and
 * checksums, or the whole import is rolled back.
 */
export async function importTenant(
  owner: DataSource,
  snapshot: TenantSnapshot,
  options: { newSlug?: string; newName?: string },
  progress: (message: string) => void,
): Promise<ImportResult> {
  const slug = options.newSlug ?? snapshot.tenant.slug;
  const runner = owner.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    const [taken] = (await runner.query('SELECT id FROM tenants WHERE slug = $1', [slug])) as {
      id: string;
    }[];
    if (taken)
      throw new Error(
        `a tenant with slug "${slug}" already exists; import under a new slug with --slug`,
      );
    const [{ id: tenantId }] = (await runner.query(
      `INSERT INTO tenants (id, name, slug, status, settings, allowed_issuers, claims_admit, quotas)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, $4, $5::jsonb, $6::text[], $7, $8::jsonb) RETURNING id`,
      [
        options.newSlug ? null : snapshot.tenant.id,
        options.newName ?? snapshot.tenant.name,
        slug,
        snapshot.tenant.status,
        JSON.stringify(snapshot.tenant.settings ?? {}),
        snapshot.tenant.allowed_issuers ?? [],
        snapshot.tenant.claims_admit ?? true,
        JSON.stringify(snapshot.tenant.quotas ?? {}),
      ],
    )) as { id: string }[];
    for (const domain of snapshot.tenant.domains ?? []) {
      const [held] = (await runner.query(
        `INSERT INTO tenant_domains (domain, tenant, added_by) VALUES ($1, $2::uuid, 'import')
         ON CONFLICT (domain) DO NOTHING RETURNING domain`,
        [domain, tenantId],
      )) as unknown[];
      if (!held) progress(`  domain ${domain} is held by another tenant: not restored`);
    }
    await runner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    progress(`importing into tenant ${slug} (${tenantId})`);
    const restored = await writeTenantRows(runner.manager, tenantId, snapshot, progress);
    await runner.commitTransaction();
    return { tenantId, slug, ...restored };
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw err;
  } finally {
    await runner.release();
  }
}

/** The table's columns an import writes: not generated, not derived (the triggers keep those). */
async function insertableColumns(manager: EntityManager, table: SnapshotTable): Promise<string[]> {
  const rows = (await manager.query(
    `SELECT quote_ident(column_name) AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
      ORDER BY ordinal_position`,
    [table],
  )) as { name: string }[];
  const derived = new Set(DERIVED_COLUMNS[table] ?? []);
  return rows.map((row) => row.name).filter((name) => !derived.has(name));
}
