import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { TenantDatabases } from 'src/core/database/tenant-databases';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { hs256Token, jwtAuthEnv, TOKENS } from 'test/factories/tokens';
import { inTenant, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import {
  call,
  cleanEnv,
  cliJson,
  ensureBuilt,
  expectExit,
  runCli,
  startApp,
  type RunningApp,
} from 'test/support/http';
import { adminUrlOf, createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The life of a tenant with a database per tenant (BOARDS_TENANT_ISOLATION=database), through
 * HTTP and the compiled CLI: creation and registration provision the tenant's own database
 * (created, migrated, seeded, then active); deletion removes the registry row, then drops the
 * database; provisioning stopped half-way and a drop that never happened are finished by
 * `boards tenant cleanup`; `boards migrate up|status` walks every tenant database; /health counts
 * what is open and what is unfinished.
 */

interface TenantBody {
  id: string;
  slug: string;
  status: string;
}

describeWithPostgres('database per tenant: provisioning, deletion, cleanup, migrate', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let env: Record<string, string>;
  let databases: TenantDatabases;
  const admin = TOKENS.platformAdmin;

  const boards = (...args: string[]) => runCli(args, { env, timeoutMs: 60_000 });

  /** The server's databases named after the suite's control database (its tenants' ones). */
  async function tenantDatabaseNames(): Promise<string[]> {
    const client = new Client({ connectionString: adminUrlOf(db) });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE current_database() || '\\_%' ORDER BY 1`,
      );
      return rows.map((row) => row.datname);
    } finally {
      await client.end();
    }
  }

  const databaseOf = (id: string) =>
    `${new URL(db.env.BOARDS_DATABASE_URL).pathname.slice(1)}_${id}`;

  const statusOf = async (id: string): Promise<string | undefined> => {
    const rows = (await db.owner.query('SELECT status FROM tenants WHERE id = $1', [id])) as {
      status: string;
    }[];
    return rows[0]?.status;
  };

  /** POST /api/setup/tenant as the platform admin; fails unless 201. */
  const createTenant = async (body: Record<string, unknown>): Promise<TenantBody> => {
    const created = await call<TenantBody>(server, 'POST', '/api/setup/tenant', {
      token: admin,
      body,
    });
    expect(created.status).toBe(201);
    return created.body;
  };

  const countIn = async (tenantId: string, table: string): Promise<number> =>
    inTenant(await db.tenantData(tenantId, 'owner'), tenantId, async (runner) => {
      const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[];
      return row.n;
    });

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase({ isolation: 'database' });
    const settings = jwtAuthEnv({
      BOARDS_MULTI_TENANT_MODE: 'true',
      BOARDS_RATE_LIMIT_ENABLED: 'false',
      BOARDS_ENABLE_AUDIT_LOGGING: 'true',
    });
    server = await startApp(db.config(settings));
    env = cleanEnv({
      ...db.env,
      ...settings,
      BOARDS_ENVIRONMENT: 'test',
      BOARDS_LOG_LEVEL: 'silent',
    });
    databases = new TenantDatabases(
      db.config(settings),
      db.runtime,
      db.target,
      undefined as unknown as TenantTransactions,
    );
  }, 200_000);

  afterAll(async () => {
    await databases?.onApplicationShutdown();
    await server?.close();
    await db?.drop();
  });

  it('creating a tenant provisions its own database: migrated, seeded, then active', async () => {
    const slug = uniqueMarker('own');
    const created = await call<TenantBody>(server, 'POST', '/api/setup/tenant', {
      token: admin,
      body: {
        name: 'Own Database',
        slug,
        admin_email: `boss@${slug}.test`,
        include_sample_data: true,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug, status: 'active' });
    const id = created.body.id;

    expect(await tenantDatabaseNames()).toContain(databaseOf(id));
    expect(await databases.records({ tenant: id })).toEqual([
      expect.objectContaining({ state: 'ready', seed: null, registered: true }),
    ]);
    // The seed went to the tenant's database: the admin invitation, the sample boards, the
    // audit event; its one `tenants` row says it was seeded.
    expect(await countIn(id, 'tenant_invitations')).toBe(1);
    expect(await countIn(id, 'boards')).toBeGreaterThan(0);
    expect(await countIn(id, 'audit_events')).toBe(1);
    const tenantRows = (await (
      await db.tenantData(id, 'owner')
    ).query('SELECT id::text AS id, status FROM tenants')) as { id: string; status: string }[];
    expect(tenantRows).toEqual([{ id, status: 'active' }]);

    // Its members reach their data through the API.
    const member = hs256Token({ sub: `member-${slug}`, tenant: slug });
    const boardsPage = await call<{ items: unknown[] }>(server, 'GET', '/api/boards', {
      token: member,
    });
    expect(boardsPage.status).toBe(200);
  });

  it('self-registration provisions the registrant’s tenant, with the registrant as its admin', async () => {
    const slug = uniqueMarker('reg');
    const registrant = hs256Token({ sub: `founder-${slug}`, email: `founder@${slug}.test` });
    const registered = await call<{ tenant: TenantBody }>(server, 'POST', '/api/tenants/register', {
      token: registrant,
      body: {
        organization_name: 'Registered Org',
        organization_slug: slug,
        admin_email: `founder@${slug}.test`,
      },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.tenant).toMatchObject({ slug, status: 'active' });
    const board = await call<{ id: string }>(server, 'POST', '/api/boards', {
      token: registrant,
      headers: { 'X-Tenant': slug },
      body: { title: 'first board' },
    });
    expect(board.status).toBe(201);
    expect(await countIn(registered.body.tenant.id, 'boards')).toBe(1);
  });

  it('deleting a tenant removes the registry row, then drops its database', async () => {
    const slug = uniqueMarker('gone');
    const created = await createTenant({ name: 'Short Lived', slug });
    const id = created.id;
    expect(await tenantDatabaseNames()).toContain(databaseOf(id));

    const deleted = await call(server, 'DELETE', `/api/setup/tenant/${id}`, { token: admin });
    expect(deleted.status).toBe(204);
    expect(await statusOf(id)).toBeUndefined();
    expect(await tenantDatabaseNames()).not.toContain(databaseOf(id));
    expect(await databases.records({ tenant: id })).toEqual([]);
  });

  it('a tenant whose registry row went but whose database stayed (a crash) is dropped by boards tenant cleanup', async () => {
    const slug = uniqueMarker('half');
    const created = await createTenant({ name: 'Half Deleted', slug });
    const id = created.id;
    // The registry row is deleted and the process dies before DROP DATABASE.
    await db.owner.query('DELETE FROM tenants WHERE id = $1', [id]);
    expect(await tenantDatabaseNames()).toContain(databaseOf(id));
    const health = await call<{ tenant_databases: { unfinished: number } }>(
      server,
      'GET',
      '/health',
      {},
    );
    expect(health.body.tenant_databases.unfinished).toBeGreaterThanOrEqual(1);

    const cleanup = await boards('tenant', 'cleanup', '--output-format', 'json');
    expectExit(cleanup, 0);
    expect(cliJson<{ id: string; action: string; outcome: string }[]>(cleanup)).toContainEqual(
      expect.objectContaining({ id, action: 'drop', outcome: 'done' }),
    );
    expect(cleanup.stderr).toMatch(/\[\d+\/\d+\] .*: drop done/);
    expect(await tenantDatabaseNames()).not.toContain(databaseOf(id));
    expect(await databases.records({ unfinished: true })).toEqual([]);
  });

  it('provisioning stopped between CREATE DATABASE and the migrations is completed by cleanup, seed included', async () => {
    const slug = uniqueMarker('crash');
    const id = randomUUID();
    await databases.reserve(
      {
        id,
        name: 'Crashed Org',
        slug,
        settings: {},
        allowedIssuers: [],
        claimsAdmit: true,
        registeredBy: null,
      },
      {
        status: 'active',
        seed: {
          adminEmail: `boss@${slug}.test`,
          includeSampleData: false,
          auditAction: 'tenant.create',
        },
      },
    );
    await expect(
      databases.createDatabase(id, 'provisioning', (step) => {
        if (step === 'database') throw new Error('killed after CREATE DATABASE');
      }),
    ).rejects.toThrow('killed after CREATE DATABASE');
    expect(await statusOf(id)).toBe('provisioning');
    expect(await tenantDatabaseNames()).toContain(databaseOf(id));

    // Meanwhile the tenant does not exist for anyone: its slug answers like an unknown one.
    const early = await call(server, 'GET', '/api/boards', {
      token: hs256Token({ sub: `early-${slug}`, tenant: slug }),
    });
    expect(early.status).toBe(403);

    const cleanup = await boards('tenant', 'cleanup', '--output-format', 'json');
    expectExit(cleanup, 0);
    expect(cliJson<{ id: string; action: string; outcome: string }[]>(cleanup)).toContainEqual(
      expect.objectContaining({ id, action: 'provision', outcome: 'done' }),
    );
    expect(await statusOf(id)).toBe('active');
    expect(await countIn(id, 'tenant_invitations')).toBe(1);
    expect(await databases.records({ tenant: id })).toEqual([
      expect.objectContaining({ state: 'ready', seed: null }),
    ]);
    // A second cleanup finds nothing to do, and seeds nothing twice.
    const again = await boards('tenant', 'cleanup', '--output-format', 'json');
    expectExit(again, 0);
    expect(cliJson<unknown[]>(again)).toEqual([]);
    expect(await countIn(id, 'tenant_invitations')).toBe(1);
  });

  it('boards migrate status and up walk the control database and every tenant database', async () => {
    const status = await boards('migrate', 'status', '--output-format', 'json');
    expectExit(status, 0);
    expect(status.stderr).toMatch(/tenant database\(s\): \d+ up to date, 0 pending, 0 failed/);
    const up = await boards('migrate', 'up', '--output-format', 'json');
    expectExit(up, 0);
    const reports = cliJson<{ tenant: string; outcome: string; migrations: string[] }[]>(up);
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(
      reports.every((report) => report.outcome === 'ok' && report.migrations.length === 0),
    ).toBe(true);
    expect(up.stderr).toMatch(/\[1\/\d+\] /);
  });

  it('boards tenant audit checks the control database and every tenant database', async () => {
    const audit = await boards('tenant', 'audit', '--output-format', 'json');
    expectExit(audit, 0);
    const report = cliJson<{ ok: boolean; tenants_checked: number }>(audit);
    expect(report.ok).toBe(true);
    expect(report.tenants_checked).toBeGreaterThanOrEqual(3);
    expect(audit.stderr).toMatch(/\[1\/\d+\] tenant database of /);

    // A tenant database whose runtime role may bypass row-level security is a finding.
    const [{ id, slug }] = (await db.owner.query(
      `SELECT id::text AS id, slug FROM tenants WHERE status = 'active' ORDER BY slug LIMIT 1`,
    )) as { id: string; slug: string }[];
    const tenantOwner = await db.tenantData(id, 'owner');
    await tenantOwner.query('ALTER TABLE boards NO FORCE ROW LEVEL SECURITY');
    try {
      const broken = await boards(
        'tenant',
        'audit',
        '--tenant-slug',
        slug,
        '--output-format',
        'json',
      );
      expectExit(broken, 1);
      expect(
        cliJson<{ findings: { tenant: string; table: string }[] }>(broken).findings,
      ).toContainEqual(expect.objectContaining({ tenant: slug, table: 'boards' }));
    } finally {
      await tenantOwner.query('ALTER TABLE boards FORCE ROW LEVEL SECURITY');
    }
  });

  /**
   * Calls `request` until `done` holds on its answer (a change reaches the server's caches within
   * about a second), at most 5 s; returns the last answer.
   */
  async function eventually<T>(
    request: () => Promise<T>,
    done: (answer: T) => boolean,
  ): Promise<T> {
    const deadline = Date.now() + 5_000;
    let answer = await request();
    while (!done(answer) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await request();
    }
    return answer;
  }

  /** GET /api/boards as `token` (the tenant from its claim): the titles, sorted. */
  const listTitles = async (token: string): Promise<string[]> => {
    const page = await call<{ items: { title: string }[] }>(server, 'GET', '/api/boards', {
      token,
    });
    expect(page.status).toBe(200);
    return page.body.items.map((board) => board.title).sort();
  };

  /** Tenant-owned rows of the tenant in the control database, counted as the superuser. */
  const rowsInControl = async (tenantId: string): Promise<number> => {
    const client = new Client({ connectionString: adminUrlOf(db) });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM boards WHERE tenant_id = $1)::int
              + (SELECT count(*) FROM users WHERE tenant_id = $1)::int AS n`,
        [tenantId],
      );
      return rows[0].n;
    } finally {
      await client.end();
    }
  };

  it('a tenant that predates the layout lives in the control database; boards tenant move takes it to a database of its own and back, verified', async () => {
    // Made as before the switch to a database per tenant: a registry row, no database record.
    const slug = uniqueMarker('old');
    const [{ id }] = (await db.owner.query(
      'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id::text AS id',
      [slug],
    )) as { id: string }[];
    const member = hs256Token({ sub: `old-member-${slug}`, tenant: slug });
    for (const title of ['kept one', 'kept two']) {
      const created = await call(server, 'POST', '/api/boards', { token: member, body: { title } });
      expect(created.status).toBe(201);
    }
    expect(await rowsInControl(id)).toBe(3);
    expect(await tenantDatabaseNames()).not.toContain(databaseOf(id));

    const moved = await boards(
      'tenant',
      'move',
      slug,
      '--to-database',
      '--settle-ms',
      '1200',
      '--output-format',
      'json',
    );
    expectExit(moved, 0);
    const report = cliJson<{ direction: string; counts: Record<string, number> }>(moved);
    expect(report).toMatchObject({ direction: 'to-database', counts: { users: 1, boards: 2 } });
    expect(moved.stderr).toMatch(/read-only \(moving, was active\)/);
    expect(moved.stderr).toMatch(/counts and checksums verified/);
    expect(await tenantDatabaseNames()).toContain(databaseOf(id));
    expect(await rowsInControl(id)).toBe(0);
    await db.forgetTenantData(id);
    expect(await countIn(id, 'boards')).toBe(2);
    expect(await statusOf(id)).toBe('active');
    // The server routes the tenant to its new database within about a second.
    expect(
      await eventually(
        () => listTitles(member),
        (titles) => titles.length === 2,
      ),
    ).toEqual(['kept one', 'kept two']);
    const afterMove = await call(server, 'POST', '/api/boards', {
      token: member,
      body: { title: 'written after' },
    });
    expect(afterMove.status).toBe(201);
    expect(await countIn(id, 'boards')).toBe(3);

    const back = await boards(
      'tenant',
      'move',
      slug,
      '--to-shared',
      '--settle-ms',
      '1200',
      '--output-format',
      'json',
    );
    expectExit(back, 0);
    expect(cliJson<{ counts: Record<string, number>; dropped: boolean }>(back)).toMatchObject({
      counts: { users: 1, boards: 3 },
      dropped: true,
    });
    expect(await tenantDatabaseNames()).not.toContain(databaseOf(id));
    expect(await rowsInControl(id)).toBe(4);
    expect(await databases.records({ tenant: id })).toEqual([]);
    expect(
      await eventually(
        () => listTitles(member),
        (titles) => titles.length === 3,
      ),
    ).toEqual(['kept one', 'kept two', 'written after']);
  });

  it('while a tenant is moving, its members read but every write is 503 tenant_moving', async () => {
    const slug = uniqueMarker('frozen');
    const created = await createTenant({ name: 'Frozen', slug });
    const id = created.id;
    const member = hs256Token({ sub: `frozen-${slug}`, tenant: slug });
    expect(
      (await call(server, 'POST', '/api/boards', { token: member, body: { title: 'before' } }))
        .status,
    ).toBe(201);
    await db.owner.query(`UPDATE tenants SET status = 'moving' WHERE id = $1`, [id]);
    try {
      const write = await eventually(
        () => call(server, 'POST', '/api/boards', { token: member, body: { title: 'during' } }),
        (answer) => answer.status !== 201,
      );
      expect(write.status).toBe(503);
      expect(write.body).toMatchObject({ code: 'tenant_moving' });
      expect(write.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await listTitles(member)).toContain('before');
    } finally {
      await db.owner.query(`UPDATE tenants SET status = 'active' WHERE id = $1`, [id]);
    }
  });

  it('a move stopped half-way is undone by boards tenant cleanup: the tenant stays where it was, writable', async () => {
    const slug = uniqueMarker('stuck');
    const [{ id }] = (await db.owner.query(
      'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id::text AS id',
      [slug],
    )) as { id: string }[];
    const member = hs256Token({ sub: `stuck-${slug}`, tenant: slug });
    expect(
      (await call(server, 'POST', '/api/boards', { token: member, body: { title: 'stays' } }))
        .status,
    ).toBe(201);
    // The move's first steps, then the process dies: moving, a record, a database half-made.
    await databases.beginMove(id, 'to-database', null);
    await databases.createDatabase(id, 'active');
    expect(await statusOf(id)).toBe('moving');
    // A move younger than ten minutes may still be running: cleanup leaves it alone.
    const early = await boards('tenant', 'cleanup', '--output-format', 'json');
    expectExit(early, 0);
    expect(cliJson<{ id: string }[]>(early).map((row) => row.id)).not.toContain(id);
    expect(await statusOf(id)).toBe('moving');
    await db.owner.query(
      `UPDATE tenant_databases SET updated_at = now() - interval '1 hour' WHERE tenant = $1`,
      [id],
    );

    const cleanup = await boards('tenant', 'cleanup', '--output-format', 'json');
    expectExit(cleanup, 0);
    expect(cliJson<{ id: string; action: string; outcome: string }[]>(cleanup)).toContainEqual(
      expect.objectContaining({ id, action: 'undo move', outcome: 'done' }),
    );
    expect(await statusOf(id)).toBe('active');
    expect(await tenantDatabaseNames()).not.toContain(databaseOf(id));
    expect(await databases.records({ tenant: id })).toEqual([]);
    expect(await rowsInControl(id)).toBe(2);
    // Writable again where it was, once the server has seen the status (within about a second).
    const write = await eventually(
      () => call(server, 'POST', '/api/boards', { token: member, body: { title: 'after' } }),
      (answer) => answer.status === 201,
    );
    expect(write.status).toBe(201);
    expect(await rowsInControl(id)).toBe(3);
  });

  it('refuses to move a tenant into the control database or another tenant’s database, and never drops one that holds others', async () => {
    const slug = uniqueMarker('careful');
    const [{ id }] = (await db.owner.query(
      'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id::text AS id',
      [slug],
    )) as { id: string }[];
    const control = new URL(db.env.BOARDS_DATABASE_URL);
    const where = (database: string) => `postgres://${control.host}/${database}`;
    const intoControl = await boards(
      'tenant',
      'move',
      slug,
      '--to-database',
      where(control.pathname.slice(1)),
      '--settle-ms',
      '0',
    );
    expect(intoControl.code).not.toBe(0);
    expect(intoControl.stderr).toContain('that is the control database');
    const other = (await databases.records()).find((r) => r.state === 'ready' && r.registered)!;
    const intoOther = await boards(
      'tenant',
      'move',
      slug,
      '--to-database',
      where(databaseOf(other.tenant)),
      '--settle-ms',
      '0',
    );
    expect(intoOther.code).not.toBe(0);
    expect(intoOther.stderr).toContain(`belongs to tenant ${other.slug}`);
    const withHost = await boards(
      'tenant',
      'move',
      slug,
      '--to-database',
      `${where('x_db')}?host=evil.test`,
      '--settle-ms',
      '0',
    );
    expect(withHost.code).not.toBe(0);
    expect(withHost.stderr).toContain('takes no parameter but sslmode');
    // Nothing changed for the tenant, and the other tenant's database is still there.
    expect(await statusOf(id)).toBe('active');
    expect(await databases.records({ tenant: id })).toEqual([]);
    expect(await tenantDatabaseNames()).toContain(databaseOf(other.tenant));

    // A record whose name now holds another tenant (a database swapped under it) is not dropped.
    await db.owner.query(
      `INSERT INTO tenant_databases (tenant, slug, location, state) VALUES ($1, $2, $3, 'dropping')`,
      [id, slug, where(databaseOf(other.tenant))],
    );
    const refused = await databases.dropDatabase(id);
    expect(refused).toMatchObject({
      dropped: false,
      error: expect.stringMatching(/holds other data/),
    });
    expect(await tenantDatabaseNames()).toContain(databaseOf(other.tenant));
    await db.owner.query('DELETE FROM tenant_databases WHERE tenant = $1', [id]);
  });

  it('tenant export reads a tenant’s own database; tenant import restores it into a database of its own', async () => {
    const slug = uniqueMarker('snap');
    const created = await createTenant({ name: 'Snapshot', slug, include_sample_data: true });
    const exported = await boards('tenant', 'export', '--slug', slug);
    expectExit(exported, 0);
    const snapshot = JSON.parse(exported.stdout) as { counts: Record<string, number> };
    expect(snapshot.counts.boards).toBe(await countIn(created.id, 'boards'));
    expect(snapshot.counts.boards).toBeGreaterThan(0);

    const file = join(mkdtempSync(join(tmpdir(), 'boards-snap-')), 'snapshot.json');
    writeFileSync(file, exported.stdout);
    const restoredSlug = uniqueMarker('restored');
    const imported = await boards(
      'tenant',
      'import',
      '--file',
      file,
      '--slug',
      restoredSlug,
      '--output-format',
      'json',
    );
    expectExit(imported, 0);
    const restored = cliJson<{ tenant_id: string; counts: Record<string, number> }>(imported);
    expect(restored.counts).toEqual(snapshot.counts);
    expect(await tenantDatabaseNames()).toContain(databaseOf(restored.tenant_id));
    expect(await rowsInControl(restored.tenant_id)).toBe(0);
    expect(await countIn(restored.tenant_id, 'boards')).toBe(snapshot.counts.boards);
    expect(await statusOf(restored.tenant_id)).toBe('active');
  });
});

describeWithPostgres('database per tenant, single-tenant mode: the default tenant', () => {
  let db: TestDatabase;
  let server: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase({ isolation: 'database' });
    server = await startApp(db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })));
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('is created on start with a database of its own, where its members’ boards go', async () => {
    const [tenant] = (await db.owner.query(
      `SELECT t.id::text AS id, t.status, d.state FROM tenants t
         JOIN tenant_databases d ON d.tenant = t.id WHERE t.slug = 'default'`,
    )) as { id: string; status: string; state: string }[];
    expect(tenant).toMatchObject({ status: 'active', state: 'ready' });
    const token = hs256Token({ sub: 'solo-user' });
    const created = await call(server, 'POST', '/api/boards', { token, body: { title: 'solo' } });
    expect(created.status).toBe(201);
    const own = await db.tenantData(tenant.id, 'owner');
    expect(own).not.toBe(db.owner);
    const rows = await inTenant(own, tenant.id, (runner) =>
      runner.query('SELECT title FROM boards'),
    );
    expect(rows).toEqual([{ title: 'solo' }]);
  });
});
