import type { QueryRunner } from 'typeorm';
import { KNOWN_TENANT_TABLES, tenantOwnedTables } from 'test/factories/catalog';
import { inTenant, uniqueMarker, type SqlSession } from 'test/factories/seed';
import { sqlFailure } from 'test/factories/sql-error';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Reads the catalog and fails when any table with a tenant_id column lacks the shape DESIGN.md §2
 * requires. The list comes from the catalog, so a table added by a future migration is checked
 * without anyone remembering to add it here.
 */

/** `tenant_id = <…current_setting('app.tenant_id'…>`: the column compared with the setting. */
const COMPARES_TENANT_COLUMN = /(?<![.\w])tenant_id\s*=/;
const READS_TENANT_SETTING = /current_setting\('app\.tenant_id'/;

async function rows<T>(db: SqlSession, sql: string, params: unknown[]): Promise<T[]> {
  return (await db.query(sql, params)) as T[];
}

/**
 * Everything wrong with one tenant-owned table, as readable sentences; [] when it is sound.
 * With `runtimeRole`, also checks what that role may do to it.
 */
async function tenantTableProblems(
  db: SqlSession,
  table: string,
  runtimeRole: string,
): Promise<string[]> {
  const problems: string[] = [];
  const params = [`public.${table}`, runtimeRole];

  const [rls] = await rows<{ enabled: boolean; forced: boolean }>(
    db,
    `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = $1::regclass`,
    params.slice(0, 1),
  );
  if (!rls.enabled) problems.push('row-level security is not enabled');
  if (!rls.forced) problems.push('row-level security is not forced');

  const policies = await rows<{
    cmd: string;
    permissive: string;
    qual: string | null;
    with_check: string | null;
  }>(
    db,
    `SELECT cmd, permissive, qual, with_check FROM pg_policies WHERE schemaname = 'public' AND tablename = $1`,
    [table],
  );
  const isolates = (expr: string | null) =>
    expr !== null && COMPARES_TENANT_COLUMN.test(expr) && READS_TENANT_SETTING.test(expr);
  const sound = policies.some(
    (p) =>
      p.cmd === 'ALL' &&
      p.permissive === 'PERMISSIVE' &&
      isolates(p.qual) &&
      isolates(p.with_check),
  );
  if (!sound) {
    problems.push(
      'no permissive policy for ALL whose USING and WITH CHECK compare tenant_id with app.tenant_id',
    );
  }

  const [column] = await rows<{ not_null: boolean; type: string; default: string | null }>(
    db,
    `SELECT a.attnotnull AS not_null, format_type(a.atttypid, a.atttypmod) AS type,
            pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attname = 'tenant_id'`,
    params.slice(0, 1),
  );
  if (column.type !== 'uuid') problems.push(`tenant_id is ${column.type}, not uuid`);
  if (!column.not_null) problems.push('tenant_id is nullable');
  if (!column.default || !READS_TENANT_SETTING.test(column.default)) {
    problems.push(`tenant_id default (${column.default ?? 'none'}) does not read app.tenant_id`);
  }

  const [primaryKey] = await rows<{ first_column: string | null }>(
    db,
    `SELECT (SELECT a.attname::text FROM pg_attribute a
              WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1]) AS first_column
       FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'p'`,
    params.slice(0, 1),
  );
  if (!primaryKey) problems.push('has no primary key');
  else if (primaryKey.first_column !== 'tenant_id') {
    problems.push(
      `primary key leads with ${primaryKey.first_column ?? 'an expression'}, not tenant_id`,
    );
  }

  // Unique constraints and unique indexes alike (the primary key's index included).
  const uniques = await rows<{ name: string; first_column: string | null }>(
    db,
    `SELECT i.indexrelid::regclass::text AS name,
            (SELECT a.attname::text FROM pg_attribute a
              WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0]) AS first_column
       FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique
      ORDER BY 1`,
    params.slice(0, 1),
  );
  for (const unique of uniques) {
    if (unique.first_column !== 'tenant_id') {
      problems.push(`unique index ${unique.name} does not lead with tenant_id`);
    }
  }

  const foreignKeys = await rows<{
    name: string;
    referenced: string;
    referenced_is_tenant_owned: boolean;
    columns: string;
    referenced_columns: string;
  }>(
    db,
    `SELECT c.conname::text AS name, c.confrelid::regclass::text AS referenced,
            EXISTS (SELECT 1 FROM pg_attribute r WHERE r.attrelid = c.confrelid
                       AND r.attname = 'tenant_id' AND NOT r.attisdropped) AS referenced_is_tenant_owned,
            (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
               FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
            (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
               FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS referenced_columns
       FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'f'
      ORDER BY 1`,
    params.slice(0, 1),
  );
  for (const fk of foreignKeys) {
    if (!fk.referenced_is_tenant_owned) continue;
    const columns = fk.columns.split(',');
    const referenced = fk.referenced_columns.split(',');
    const position = columns.indexOf('tenant_id');
    if (columns.length < 2 || position < 0 || referenced[position] !== 'tenant_id') {
      problems.push(
        `foreign key ${fk.name} (${fk.columns}) → ${fk.referenced} (${fk.referenced_columns}) ` +
          'is not composite with tenant_id on both sides',
      );
    }
  }

  const [grants] = await rows<{
    owns: boolean;
    update_tenant_id: boolean;
    truncate: boolean;
    trigger: boolean;
  }>(
    db,
    `SELECT pg_has_role($2, c.relowner, 'USAGE') AS owns,
            has_column_privilege($2, c.oid, 'tenant_id', 'UPDATE') AS update_tenant_id,
            has_table_privilege($2, c.oid, 'TRUNCATE') AS truncate,
            has_table_privilege($2, c.oid, 'TRIGGER') AS trigger
       FROM pg_class c WHERE c.oid = $1::regclass`,
    params,
  );
  if (grants.owns) problems.push(`runtime role ${runtimeRole} owns the table`);
  if (grants.update_tenant_id) problems.push(`runtime role ${runtimeRole} may UPDATE tenant_id`);
  if (grants.truncate) problems.push(`runtime role ${runtimeRole} may TRUNCATE`);
  if (grants.trigger) problems.push(`runtime role ${runtimeRole} may create triggers`);

  return problems;
}

/** Problems of every tenant-owned table in the catalog, keyed by table. */
async function schemaProblems(
  db: SqlSession,
  runtimeRole: string,
): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const table of await tenantOwnedTables(db)) {
    result[table] = await tenantTableProblems(db, table, runtimeRole);
  }
  return result;
}

describe('schema catalog: every tenant-owned table is isolated', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('lists the tenant-owned tables from the catalog, including the known ones', async () => {
    const tables = await tenantOwnedTables(db.owner);
    expect(tables.length).toBeGreaterThan(0);
    expect(tables).toEqual(expect.arrayContaining([...KNOWN_TENANT_TABLES]));
  });

  it('finds no problem in any of them', async () => {
    const problems = await schemaProblems(db.owner, db.runtimeRole);
    expect(Object.keys(problems)).toEqual(expect.arrayContaining([...KNOWN_TENANT_TABLES]));
    expect(problems).toEqual(
      Object.fromEntries(Object.keys(problems).map((table) => [table, [] as string[]])),
    );
  });

  it('every index of a tenant-owned table leads with tenant_id (no lookup reads other tenants)', async () => {
    const rows = (await db.owner.query(
      `SELECT c.relname::text AS table_name, i.relname::text AS index_name,
              a.attname::text AS first_column
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
        WHERE n.nspname = current_schema() AND c.relname = ANY($1)`,
      [await tenantOwnedTables(db.owner)],
    )) as { table_name: string; index_name: string; first_column: string | null }[];
    expect(rows.length).toBeGreaterThan(KNOWN_TENANT_TABLES.length);
    expect(rows.filter((r) => r.first_column !== 'tenant_id')).toEqual([]);
  });

  it("the caller's memberships are covered by one index, so the board list joins them index-only", async () => {
    const rows = (await db.owner.query(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename = 'board_members' AND indexdef LIKE '%(tenant_id, user_id)%'`,
    )) as { indexname: string; indexdef: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0].indexname).toBe('board_members_user_cover_idx');
    expect(rows[0].indexdef).toMatch(/\(tenant_id, user_id\) INCLUDE \(board_id, role, id\)$/);
  });

  it('every table referring to tenants is tenant-owned, or a registry table named here with what the runtime role may do', async () => {
    /**
     * Registry tables hold platform data about tenants, not the tenants' own data: they have no
     * row-level security (a domain must be unique across tenants, a quarantined slug outlives its
     * tenant), so their grants are the rule. A new table that refers to tenants is one or the other.
     */
    const REGISTRY_TABLES: Record<string, string[]> = {
      tenant_domains: ['INSERT', 'SELECT'],
    };
    const referring = (await db.owner.query(
      `SELECT DISTINCT c.conrelid::regclass::text AS table_name
         FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = 'tenants'::regclass`,
    )) as { table_name: string }[];
    const owned = new Set(await tenantOwnedTables(db.owner));
    const unlisted = referring
      .map((row) => row.table_name)
      .filter((table) => !owned.has(table) && !(table in REGISTRY_TABLES));
    expect(unlisted).toEqual([]);
    for (const [table, allowed] of Object.entries(REGISTRY_TABLES)) {
      const granted = (await db.owner.query(
        `SELECT privilege_type FROM information_schema.role_table_grants
          WHERE table_name = $1 AND grantee = $2 ORDER BY 1`,
        [table, db.runtimeRole],
      )) as { privilege_type: string }[];
      expect({ table, granted: granted.map((g) => g.privilege_type) }).toEqual({
        table,
        granted: allowed,
      });
    }
    // The slug quarantine and the change logs: the runtime role reads them, and may only end a
    // quarantine early; triggers (SECURITY DEFINER) write them. The tenant databases' records
    // (database per tenant): read by the runtime role, written by the owner's provisioning.
    const logGrants = (await db.owner.query(
      `SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS privileges
         FROM information_schema.role_table_grants
        WHERE table_name IN ('slug_quarantine', 'tenant_changes', 'tenant_databases', 'user_changes')
          AND grantee = $1
        GROUP BY table_name ORDER BY table_name`,
      [db.runtimeRole],
    )) as { table_name: string; privileges: string }[];
    expect(logGrants).toEqual([
      { table_name: 'slug_quarantine', privileges: 'SELECT' },
      { table_name: 'tenant_changes', privileges: 'SELECT' },
      { table_name: 'tenant_databases', privileges: 'SELECT' },
      { table_name: 'user_changes', privileges: 'SELECT' },
    ]);
  });

  it('the runtime role reads and creates tenants but changes or deletes them only through the registry functions', async () => {
    const tableGrants = (await db.owner.query(
      `SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) AS privileges
         FROM information_schema.role_table_grants WHERE table_name = 'tenants' AND grantee = $1`,
      [db.runtimeRole],
    )) as { privileges: string }[];
    expect(tableGrants).toEqual([{ privileges: 'INSERT,SELECT' }]);
    const columnUpdates = (await db.owner.query(
      `SELECT attname::text AS column_name FROM pg_attribute
        WHERE attrelid = 'tenants'::regclass AND attnum > 0 AND NOT attisdropped
          AND has_column_privilege($1, 'tenants'::regclass, attname, 'UPDATE')`,
      [db.runtimeRole],
    )) as { column_name: string }[];
    expect(columnUpdates).toEqual([]);
    const [{ n: auditGrants }] = (await db.owner.query(
      `SELECT count(*)::int AS n FROM information_schema.role_table_grants
        WHERE table_name = 'platform_audit_events' AND grantee = $1 AND privilege_type <> 'SELECT'`,
      [db.runtimeRole],
    )) as { n: number }[];
    expect(auditGrants).toBe(0);

    const functions = (await db.owner.query(
      `SELECT p.proname::text AS name, p.prosecdef AS definer,
              array_to_string(p.proconfig, ',') AS config,
              has_function_privilege($1, p.oid, 'EXECUTE') AS runtime_may,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'boards\\_%'
        ORDER BY 1`,
      [db.runtimeRole],
    )) as {
      name: string;
      definer: boolean;
      config: string;
      runtime_may: boolean;
      public_may: boolean;
    }[];
    // The registry writes the API calls; then the quota helpers and usage triggers, which only
    // triggers run (nobody may call them).
    const callable = [
      'boards_delete_tenant',
      'boards_release_slug',
      'boards_remove_tenant_domain',
      'boards_transition_tenant',
      'boards_update_tenant',
    ];
    const internal: Record<string, boolean> = {
      boards_act_as_tenant: false,
      boards_count_add: true,
      boards_restore_tenant: false,
      boards_quota_limit: false,
      boards_quota_refuse: false,
      boards_usage_add: true,
      boards_usage_on_boards: true,
      boards_usage_on_generations: true,
      boards_usage_on_members: true,
    };
    expect(functions.map((f) => f.name)).toEqual([...callable, ...Object.keys(internal)].sort());
    for (const fn of functions) {
      expect(fn).toEqual({
        name: fn.name,
        definer: callable.includes(fn.name) || internal[fn.name],
        config: 'search_path=pg_catalog, pg_temp',
        runtime_may: callable.includes(fn.name),
        public_may: false,
      });
    }
  });

  it('as the runtime role, DELETE or UPDATE of the registry is refused even with a tenant set', async () => {
    const { id } = (
      (await db.owner.query(
        `INSERT INTO tenants (name, slug) VALUES ('Doomed', $1) RETURNING id::text AS id`,
        [uniqueMarker('doomed')],
      )) as { id: string }[]
    )[0];
    for (const statement of [
      'DELETE FROM tenants WHERE id = $1',
      `UPDATE tenants SET status = 'suspended' WHERE id = $1`,
      `UPDATE tenants SET name = 'renamed' WHERE id = $1`,
      'DELETE FROM tenant_domains WHERE tenant = $1',
      'DELETE FROM slug_quarantine WHERE former_tenant = $1',
    ]) {
      const failure = await sqlFailure(
        inTenant(db.runtime, id, (runner) => runner.query(statement, [id])),
      );
      expect({ statement, code: failure.code }).toEqual({ statement, code: '42501' });
    }
    const [tenant] = (await db.owner.query('SELECT name, status FROM tenants WHERE id = $1', [
      id,
    ])) as { name: string; status: string }[];
    expect(tenant).toEqual({ name: 'Doomed', status: 'active' });
  });

  it('the registry functions act only on the tenant whose transaction calls them', async () => {
    const insertTenant = async (name: string) =>
      (
        (await db.owner.query(
          `INSERT INTO tenants (name, slug) VALUES ($1, $2) RETURNING id::text AS id`,
          [name, uniqueMarker(name.toLowerCase())],
        )) as { id: string }[]
      )[0].id;
    const mine = await insertTenant('Mine');
    const theirs = await insertTenant('Theirs');
    await db.owner.query(`INSERT INTO tenant_domains (domain, tenant) VALUES ($1, $2)`, [
      `${uniqueMarker('d')}.example`,
      theirs,
    ]);
    const calls = [
      `SELECT boards_delete_tenant($1::uuid, 'x', NULL, 30)`,
      `SELECT boards_update_tenant($1::uuid, 'Taken', NULL, NULL, NULL, NULL, 'x', NULL)`,
      `SELECT boards_transition_tenant($1::uuid, ARRAY['active'], 'suspended', 'x', NULL)`,
      `SELECT boards_remove_tenant_domain($1::uuid, (SELECT domain FROM tenant_domains WHERE tenant = $1), 'x', NULL)`,
    ];
    for (const call of calls) {
      // Bound to another tenant, and bound to none: both refused.
      const fromMine = await sqlFailure(
        inTenant(db.runtime, mine, (runner) => runner.query(call, [theirs])),
      );
      const unbound = await sqlFailure(db.runtime.query(call, [theirs]));
      expect({ call, codes: [fromMine.code, unbound.code] }).toEqual({
        call,
        codes: ['42501', '42501'],
      });
    }
    const [after] = (await db.owner.query(
      `SELECT t.name, t.status, (SELECT count(*)::int FROM tenant_domains d WHERE d.tenant = t.id) AS domains
         FROM tenants t WHERE id = $1`,
      [theirs],
    )) as { name: string; status: string; domains: number }[];
    expect(after).toEqual({ name: 'Theirs', status: 'active', domains: 1 });

    // In its own transaction: a NULL list of statuses changes nothing, and the quarantine is
    // clamped to ten years.
    const transitioned = (await inTenant(db.runtime, theirs, (runner) =>
      runner.query(
        `SELECT boards_transition_tenant($1::uuid, NULL, 'suspended', 'x', NULL) AS done`,
        [theirs],
      ),
    )) as { done: boolean }[];
    expect(transitioned).toEqual([{ done: false }]);
    const deleted = (await inTenant(db.runtime, theirs, (runner) =>
      runner.query(`SELECT boards_delete_tenant($1::uuid, 'x', NULL, 100000) AS done`, [theirs]),
    )) as { done: boolean }[];
    expect(deleted).toEqual([{ done: true }]);
    const [quarantine] = (await db.owner.query(
      `SELECT (until - deleted_at) <= interval '3650 days' AS clamped,
              (until - deleted_at) >= interval '3649 days' AS long
         FROM slug_quarantine WHERE former_tenant = $1`,
      [theirs],
    )) as { clamped: boolean; long: boolean }[];
    expect(quarantine).toEqual({ clamped: true, long: true });
  });

  it('the runtime role cannot create objects in the public schema', async () => {
    const [row] = (await db.owner.query(
      `SELECT has_schema_privilege($1, 'public', 'CREATE') AS can_create`,
      [db.runtimeRole],
    )) as { can_create: boolean }[];
    expect(row.can_create).toBe(false);
  });

  describe('the checker itself (throwaway tables, rolled back)', () => {
    let runner: QueryRunner;
    let prefix: string;

    beforeAll(async () => {
      runner = db.owner.createQueryRunner();
      await runner.startTransaction();
      prefix = uniqueMarker('zz').replace('-', '_');
    });

    afterAll(async () => {
      await runner.rollbackTransaction();
      await runner.release();
      // The rollback left nothing behind.
      expect(await tenantOwnedTables(db.owner)).not.toEqual(
        expect.arrayContaining([expect.stringContaining(prefix)]),
      );
    });

    /**
     * Creates `<prefix>_<name>` shaped like a sound tenant-owned table, with `overrides` replacing
     * parts of it, and returns the checker's findings for it.
     */
    async function problemsOf(
      name: string,
      overrides: {
        tenantColumn?: string;
        keys?: string;
        forceRls?: boolean;
        enableRls?: boolean;
        policy?: string | null;
        after?: (table: string) => string;
      } = {},
    ): Promise<string[]> {
      const table = `${prefix}_${name}`;
      const tenantColumn =
        overrides.tenantColumn ??
        `tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid REFERENCES tenants (id)`;
      const keys =
        overrides.keys ??
        `PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, board_id, label),
         FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id)`;
      const policy =
        overrides.policy === undefined
          ? `USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
             WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`
          : overrides.policy;
      await runner.query(`
        CREATE TABLE ${table} (
          ${tenantColumn},
          id uuid NOT NULL DEFAULT gen_random_uuid(),
          board_id uuid NOT NULL,
          label text NOT NULL,
          ${keys}
        )`);
      if (overrides.enableRls ?? true)
        await runner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      if (overrides.forceRls ?? true)
        await runner.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      if (policy !== null) await runner.query(`CREATE POLICY isolation ON ${table} ${policy}`);
      if (overrides.after) await runner.query(overrides.after(table));
      expect(await tenantOwnedTables(runner)).toContain(table);
      return tenantTableProblems(runner, table, db.runtimeRole);
    }

    it('passes a table built the way the design asks (control)', async () => {
      expect(await problemsOf('sound')).toEqual([]);
    });

    it('reports a table whose RLS is enabled but not forced', async () => {
      expect(await problemsOf('unforced', { forceRls: false })).toEqual([
        'row-level security is not forced',
      ]);
    });

    it('reports a table without any RLS, and the whole-schema check reports it too', async () => {
      const problems = await problemsOf('bare', {
        enableRls: false,
        forceRls: false,
        policy: null,
      });
      expect(problems).toEqual([
        'row-level security is not enabled',
        'row-level security is not forced',
        expect.stringMatching(/^no permissive policy/),
      ]);
      const all = await schemaProblems(runner, db.runtimeRole);
      expect(all[`${prefix}_bare`]).toEqual(problems);
    });

    it('reports a policy whose WITH CHECK does not check the tenant', async () => {
      const policy = `USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
                      WITH CHECK (current_setting('app.tenant_id', true) IS NOT NULL)`;
      expect(await problemsOf('weak_policy', { policy })).toEqual([
        expect.stringMatching(/^no permissive policy/),
      ]);
    });

    it('reports a policy that covers only SELECT', async () => {
      const policy = `FOR SELECT USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`;
      expect(await problemsOf('select_policy', { policy })).toEqual([
        expect.stringMatching(/^no permissive policy/),
      ]);
    });

    it('reports a primary key and a unique key that do not lead with tenant_id', async () => {
      const problems = await problemsOf('keys', {
        keys: `PRIMARY KEY (id, tenant_id), UNIQUE (label),
               FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id)`,
      });
      expect(problems).toEqual([
        'primary key leads with id, not tenant_id',
        `unique index ${prefix}_keys_label_key does not lead with tenant_id`,
        `unique index ${prefix}_keys_pkey does not lead with tenant_id`,
      ]);
    });

    it('reports a unique index (not a constraint) without tenant_id', async () => {
      expect(
        await problemsOf('unique_index', {
          after: (table) => `CREATE UNIQUE INDEX ${table}_label_idx ON ${table} (lower(label))`,
        }),
      ).toEqual([`unique index ${prefix}_unique_index_label_idx does not lead with tenant_id`]);
    });

    it('reports a foreign key to a tenant-owned table that omits tenant_id', async () => {
      // A parent with a unique id alone (itself unsound) so a single-column reference is possible.
      await runner.query(`CREATE TABLE ${prefix}_parent (tenant_id uuid, id uuid UNIQUE)`);
      const problems = await problemsOf('single_fk', {
        after: (table) =>
          `ALTER TABLE ${table} ADD CONSTRAINT ${table}_parent_fkey
             FOREIGN KEY (board_id) REFERENCES ${prefix}_parent (id)`,
      });
      expect(problems).toEqual([expect.stringMatching(/^foreign key .*_parent_fkey \(board_id\)/)]);
    });

    it('reports a composite foreign key that pairs tenant_id with another column', async () => {
      await runner.query(
        `CREATE TABLE ${prefix}_crossed (tenant_id uuid, id uuid, UNIQUE (id, tenant_id))`,
      );
      const problems = await problemsOf('crossed_fk', {
        after: (table) =>
          `ALTER TABLE ${table} ADD CONSTRAINT ${table}_crossed_fkey
             FOREIGN KEY (tenant_id, board_id) REFERENCES ${prefix}_crossed (id, tenant_id)`,
      });
      expect(problems).toEqual([expect.stringMatching(/^foreign key .*_crossed_fkey/)]);
    });

    it('reports a nullable tenant_id without the app.tenant_id default, and a missing primary key', async () => {
      // A primary key would make tenant_id NOT NULL on its own, so this table has none.
      const problems = await problemsOf('loose_column', {
        tenantColumn: 'tenant_id uuid',
        keys: `UNIQUE (tenant_id, id), FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id)`,
      });
      expect(problems).toEqual([
        'tenant_id is nullable',
        'tenant_id default (none) does not read app.tenant_id',
        'has no primary key',
      ]);
    });

    it('reports a runtime role that may update tenant_id, truncate or add triggers', async () => {
      expect(
        await problemsOf('granted', {
          after: (table) =>
            `GRANT UPDATE (tenant_id), TRUNCATE, TRIGGER ON ${table} TO ${db.runtimeRole}`,
        }),
      ).toEqual([
        `runtime role ${db.runtimeRole} may UPDATE tenant_id`,
        `runtime role ${db.runtimeRole} may TRUNCATE`,
        `runtime role ${db.runtimeRole} may create triggers`,
      ]);
    });
  });
});
