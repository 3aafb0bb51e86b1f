import { Client } from 'pg';
import { KNOWN_TENANT_TABLES, tenantOwnedTables } from 'test/factories/catalog';
import {
  createTenant,
  inTenant,
  seedTenantGraph,
  uniqueMarker,
  type SeededTenant,
} from 'test/factories/seed';
import { TOKENS, bearer, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * DELETE /api/setup/tenant/{id} removes the tenant and every row it owns, in one transaction
 * (DESIGN.md §3): afterwards no table with a tenant_id column (listed from the catalog, so a
 * table added later is covered too) holds a row of that tenant, counted as a superuser that
 * bypasses row-level security; the other tenant's rows are untouched; and a failure in the middle
 * of the cascade leaves everything as it was.
 */

type Counts = Record<string, number>;

describeWithPostgres('tenant deletion through the setup API', () => {
  let db: TestDatabase;
  let server: RunningApp;
  /** A superuser session on the suite's database: sees every tenant's rows (no RLS). */
  let superuser: Client;
  let tables: string[];

  /** Rows of `tenantId` in every tenant-owned table, as the superuser. */
  const countsOf = async (tenantId: string): Promise<Counts> => {
    const counts: Counts = {};
    for (const table of tables) {
      const { rows } = await superuser.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`,
        [tenantId],
      );
      counts[table] = rows[0].n;
    }
    return counts;
  };
  /** The same counts as the owner role inside a transaction bound to the tenant (RLS forced). */
  const ownerCountsOf = (tenantId: string): Promise<Counts> =>
    inTenant(db.owner, tenantId, async (runner) => {
      const counts: Counts = {};
      for (const table of tables) {
        const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
          n: number;
        }[];
        counts[table] = row.n;
      }
      return counts;
    });
  const tenantExists = async (id: string): Promise<boolean> =>
    (await superuser.query('SELECT 1 FROM tenants WHERE id = $1', [id])).rowCount === 1;
  const remove = (id: string) =>
    fetch(`${server.baseUrl}/api/setup/tenant/${id}`, {
      method: 'DELETE',
      headers: bearer(TOKENS.platformAdmin),
    });

  /** Two graphs for a tenant: two rows in each tenant-owned table. */
  const seedEverything = async (tenant: SeededTenant): Promise<void> => {
    await seedTenantGraph(db.runtime, tenant.id, uniqueMarker(`${tenant.slug}-a`));
    await seedTenantGraph(db.runtime, tenant.id, uniqueMarker(`${tenant.slug}-b`));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(ADMIN_URL);
    url.pathname = new URL(db.env.BOARDS_DATABASE_URL).pathname;
    superuser = new Client({ connectionString: url.toString() });
    await superuser.connect();
    tables = await tenantOwnedTables(db.owner);
    server = await startApp(
      db.config(
        jwtAuthEnv({ BOARDS_MULTI_TENANT_MODE: 'true', BOARDS_RATE_LIMIT_ENABLED: 'false' }),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await superuser?.end();
    await db?.drop();
  });

  it('the catalog lists the eight tenant-owned tables', () => {
    expect(tables).toEqual([...KNOWN_TENANT_TABLES]);
  });

  it('deleting a tenant leaves 0 of its rows in every table with a tenant_id; the other tenant is untouched', async () => {
    const doomed = await createTenant(db.owner, uniqueMarker('doomed'));
    const survivor = await createTenant(db.owner, uniqueMarker('survivor'));
    await seedEverything(doomed);
    await seedEverything(survivor);
    // Rows made through the API as well: a just-in-time user and a board.
    const apiUser = bearer(hs256Token({ sub: uniqueMarker('api-user'), tenant: doomed.slug }));
    const board = await fetch(`${server.baseUrl}/api/boards`, {
      method: 'POST',
      headers: { ...apiUser, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'made through the API' }),
    });
    expect(board.status).toBe(201);

    const before = await countsOf(doomed.id);
    const survivorBefore = await countsOf(survivor.id);
    for (const table of tables) {
      expect({ table, seeded: before[table] > 0 }).toEqual({ table, seeded: true });
      expect({ table, seeded: survivorBefore[table] > 0 }).toEqual({ table, seeded: true });
    }
    expect(await ownerCountsOf(doomed.id)).toEqual(before);

    const response = await remove(doomed.id);
    expect(response.status).toBe(204);

    expect(await tenantExists(doomed.id)).toBe(false);
    expect(await countsOf(doomed.id)).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
    expect(await ownerCountsOf(doomed.id)).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
    expect(await countsOf(survivor.id)).toEqual(survivorBefore);
    expect(await tenantExists(survivor.id)).toBe(true);
  });

  it('is one transaction: a failure in the middle of the cascade leaves every row in place', async () => {
    const tenant = await createTenant(db.owner, uniqueMarker('sturdy'));
    const bystander = await createTenant(db.owner, uniqueMarker('bystander'));
    await seedEverything(tenant);
    await seedEverything(bystander);
    const before = await countsOf(tenant.id);
    const bystanderBefore = await countsOf(bystander.id);

    // A trigger (as the table owner) that fails while the cascade deletes the tenant's
    // idempotency keys — after users, boards and the rest have been reached.
    await db.owner.query(`
      CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'refused by test trigger';
      END $$`);
    await db.owner.query(`
      CREATE TRIGGER refuse_delete BEFORE DELETE ON idempotency_keys
      FOR EACH ROW WHEN (OLD.tenant_id = '${tenant.id}'::uuid) EXECUTE FUNCTION refuse_delete()`);
    try {
      const failed = await remove(tenant.id);
      expect(failed.status).toBe(500);
      const body = (await failed.json()) as Record<string, unknown>;
      expect(body).toEqual({
        error: 'Internal Server Error',
        code: 'internal_error',
        detail: expect.any(String),
        status: 500,
        request_id: failed.headers.get('x-request-id'),
      });
      expect(JSON.stringify(body)).not.toContain('refused by test trigger');

      expect(await tenantExists(tenant.id)).toBe(true);
      expect(await countsOf(tenant.id)).toEqual(before);
      expect(await countsOf(bystander.id)).toEqual(bystanderBefore);
    } finally {
      await db.owner.query('DROP TRIGGER refuse_delete ON idempotency_keys');
      await db.owner.query('DROP FUNCTION refuse_delete()');
    }

    // Without the obstacle the same request succeeds completely.
    expect((await remove(tenant.id)).status).toBe(204);
    expect(await countsOf(tenant.id)).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
    expect(await countsOf(bystander.id)).toEqual(bystanderBefore);
  });
});
