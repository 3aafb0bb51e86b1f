import { Client } from 'pg';
import { auditTenants, type TenantAuditReport } from 'src/modules/tenants/cli/tenant-audit';
import { tenantOwnedTables } from 'test/factories/catalog';
import {
  createTenant,
  seedTenantGraph,
  uniqueMarker,
  type SeededTenant,
  type TenantGraph,
} from 'test/factories/seed';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import { cleanEnv, ensureBuilt, runCli, type CliResult } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * `boards tenant audit` (DESIGN.md §5): a clean database passes; a cross-tenant row planted
 * behind the constraints' back (as a superuser with session_replication_role = replica, the only
 * way past the composite foreign keys), a table whose row-level security is off, and a risky grant
 * to the runtime role are each reported. The compiled command prints one clean JSON document on
 * stdout, progress on stderr, and exits 1 exactly when there is a violation.
 */

describeWithPostgres('tenant audit', () => {
  let db: TestDatabase;
  let superuser: Client;
  let alpha: SeededTenant;
  let beta: SeededTenant;
  let alphaGraph: TenantGraph;
  let betaGraph: TenantGraph;
  let env: Record<string, string>;

  const audit = (tenantSlug?: string, progress: (m: string) => void = () => undefined) =>
    auditTenants(db.owner, { runtimeRole: db.runtimeRole, tenantSlug }, progress);
  const cli = (...args: string[]) =>
    runCli(['tenant', 'audit', ...args], { env, timeoutMs: 30_000 });
  const parse = (result: CliResult): TenantAuditReport => {
    try {
      return JSON.parse(result.stdout) as TenantAuditReport;
    } catch {
      throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}`);
    }
  };

  /** Runs `work` with a planted row, removed afterwards (as the superuser, constraints off). */
  const withPlanted = async <T>(
    insert: string,
    params: unknown[],
    table: string,
    work: () => Promise<T>,
  ): Promise<T> => {
    await superuser.query('SET session_replication_role = replica');
    const { rows } = await superuser.query<{ id: string }>(
      `${insert} RETURNING id::text AS id`,
      params,
    );
    await superuser.query('SET session_replication_role = DEFAULT');
    try {
      return await work();
    } finally {
      await superuser.query(`DELETE FROM ${table} WHERE id = $1`, [rows[0].id]);
    }
  };
  /** A generation in alpha that points at beta's board. */
  const plantForeignGeneration = <T>(work: () => Promise<T>) =>
    withPlanted(
      `INSERT INTO generations (tenant_id, board_id, user_id, generator_name, artifact_type)
       VALUES ($1, $2, $3, 'planted', 'image')`,
      [alpha.id, betaGraph.boardId, alphaGraph.ownerId],
      'generations',
      work,
    );

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase();
    const url = new URL(ADMIN_URL);
    url.pathname = new URL(db.env.BOARDS_DATABASE_URL).pathname;
    superuser = new Client({ connectionString: url.toString() });
    await superuser.connect();
    alpha = await createTenant(db.owner, uniqueMarker('alpha'));
    beta = await createTenant(db.owner, uniqueMarker('beta'));
    alphaGraph = await seedTenantGraph(db.runtime, alpha.id, uniqueMarker('alpha-data'));
    betaGraph = await seedTenantGraph(db.runtime, beta.id, uniqueMarker('beta-data'));
    env = cleanEnv({ ...db.env, BOARDS_ENVIRONMENT: 'test', BOARDS_LOG_LEVEL: 'silent' });
  }, 200_000);

  afterAll(async () => {
    await superuser?.end();
    await db?.drop();
  });

  it('a clean database passes', async () => {
    const messages: string[] = [];
    const report = await audit(undefined, (m) => messages.push(m));
    expect(report).toEqual({
      ok: true,
      tenants_checked: 2,
      checks: expect.arrayContaining([
        'table without forced row-level security',
        'runtime role privileges',
        'generation on a board of another tenant',
        'membership of a user of another tenant',
      ]),
      findings: [],
    });
    expect(messages.join('\n')).toContain('checking cross-tenant references in 2 tenant(s)');
  });

  it('reports a generation in one tenant pointing at a board of another', async () => {
    await plantForeignGeneration(async () => {
      const report = await audit();
      expect(report.ok).toBe(false);
      expect(report.findings).toEqual([
        {
          check: 'generation on a board of another tenant',
          tenant: alpha.slug,
          table: 'generations',
          rows: 1,
          detail: '1 row(s)',
        },
      ]);
      // Scoped to the tenant that holds the row, or to the other one.
      expect((await audit(alpha.slug)).findings).toHaveLength(1);
      expect(await audit(beta.slug)).toMatchObject({ ok: true, tenants_checked: 1, findings: [] });
    });
    expect((await audit()).ok).toBe(true);
  });

  it('reports a board membership of a user of another tenant', async () => {
    await withPlanted(
      `INSERT INTO board_members (tenant_id, board_id, user_id, role) VALUES ($1, $2, $3, 'viewer')`,
      [alpha.id, alphaGraph.boardId, betaGraph.memberId],
      'board_members',
      async () => {
        const report = await audit();
        expect(report.ok).toBe(false);
        expect(report.findings).toEqual([
          expect.objectContaining({
            check: 'membership of a user of another tenant',
            tenant: alpha.slug,
            table: 'board_members',
            rows: 1,
          }),
        ]);
      },
    );
  });

  it('reports a board owned by a user of another tenant', async () => {
    await withPlanted(
      `INSERT INTO boards (tenant_id, owner_id, title) VALUES ($1, $2, 'planted')`,
      [beta.id, alphaGraph.ownerId],
      'boards',
      async () => {
        expect((await audit()).findings).toEqual([
          expect.objectContaining({ check: 'board owner in another tenant', tenant: beta.slug }),
        ]);
      },
    );
  });

  it('reports a tenant-owned table whose row-level security is disabled or not forced', async () => {
    await db.owner.query('ALTER TABLE boards DISABLE ROW LEVEL SECURITY');
    try {
      const report = await audit();
      expect(report.ok).toBe(false);
      expect(report.findings).toContainEqual({
        check: 'table without forced row-level security',
        table: 'boards',
        detail: 'enabled=false forced=true policy=true',
      });
    } finally {
      await db.owner.query('ALTER TABLE boards ENABLE ROW LEVEL SECURITY');
    }
    await db.owner.query('ALTER TABLE users NO FORCE ROW LEVEL SECURITY');
    try {
      expect((await audit()).findings).toContainEqual({
        check: 'table without forced row-level security',
        table: 'users',
        detail: 'enabled=true forced=false policy=true',
      });
    } finally {
      await db.owner.query('ALTER TABLE users FORCE ROW LEVEL SECURITY');
    }
    // A new table with a tenant_id column and no RLS at all is found from the catalog.
    await db.owner.query('CREATE TABLE audit_probe (tenant_id uuid NOT NULL, note text)');
    try {
      expect(await tenantOwnedTables(db.owner)).toContain('audit_probe');
      expect((await audit()).findings).toContainEqual({
        check: 'table without forced row-level security',
        table: 'audit_probe',
        detail: 'enabled=false forced=false policy=false',
      });
    } finally {
      await db.owner.query('DROP TABLE audit_probe');
    }
    expect((await audit()).ok).toBe(true);
  });

  it('reports risky privileges of the runtime role', async () => {
    await db.owner.query(`GRANT UPDATE (tenant_id) ON boards TO ${db.runtimeRole}`);
    await db.owner.query(`GRANT DELETE ON audit_events TO ${db.runtimeRole}`);
    try {
      const findings = (await audit()).findings;
      expect(findings).toContainEqual({
        check: 'runtime role privileges',
        table: 'boards',
        detail: 'may UPDATE tenant_id',
      });
      expect(findings).toContainEqual({
        check: 'runtime role privileges',
        table: 'audit_events',
        detail: 'may DELETE',
      });
    } finally {
      await db.owner.query(`REVOKE UPDATE (tenant_id) ON boards FROM ${db.runtimeRole}`);
      await db.owner.query(`REVOKE DELETE ON audit_events FROM ${db.runtimeRole}`);
    }
    expect((await audit()).ok).toBe(true);
  });

  it('the compiled CLI: one JSON document on stdout, progress on stderr, exit 0 when clean', async () => {
    const result = await cli('--output-format', 'json');
    const report = parse(result);
    expect(report).toMatchObject({ ok: true, tenants_checked: 2, findings: [] });
    expect(result.stdout.trim().startsWith('{')).toBe(true);
    expect(result.stderr).toContain('checking row-level security');
    expect(result.stderr).toContain('no violations in 2 tenant(s)');
    expect(result.code).toBe(0);
  });

  it('the compiled CLI exits 1 with the planted violation in its JSON (and in its table)', async () => {
    await plantForeignGeneration(async () => {
      const [json, table] = await Promise.all([cli('--output-format', 'json'), cli()]);
      const report = parse(json);
      expect(report.ok).toBe(false);
      expect(report.findings).toEqual([
        expect.objectContaining({
          check: 'generation on a board of another tenant',
          tenant: alpha.slug,
          table: 'generations',
        }),
      ]);
      expect(json.stderr).toContain('1 violation(s) found');
      expect(json.code).toBe(1);

      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/^check\s+tenant\s+table\s+detail\n/);
      expect(table.stdout).toContain('generation on a board of another tenant');
      expect(table.stdout).toContain(alpha.slug);
    });
  });

  it('the compiled CLI: --tenant-slug of an unknown tenant is exit 1 with the reason on stderr', async () => {
    const result = await cli('--tenant-slug', 'no-such-tenant', '--output-format', 'json');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('no tenant with slug "no-such-tenant"');
  });
});
