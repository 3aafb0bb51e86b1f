import {
  DERIVED_TABLES,
  SNAPSHOT_TABLES,
  exportTenant,
  importTenant,
  tableChecksum,
  validateSnapshot,
  type TenantSnapshot,
} from 'src/modules/tenants/cli/tenant-snapshot';
import { tenantOwnedTables } from 'test/factories/catalog';
import {
  createTenant,
  inTenant,
  insertBoard,
  seedTenantGraph,
  uniqueMarker,
  type SeededTenant,
  type TenantGraph,
} from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * `boards tenant export|import` through their functions (DESIGN.md §5), as the owner role: an
 * export holds everything a tenant owns and nothing of another tenant; export → delete → import
 * restores equal per-table counts, checksums and rows; a snapshot can be restored under a new slug
 * next to the original and into a fresh empty database; a tampered file is refused.
 */

type Counts = Record<string, number>;
const quiet = (): void => undefined;

describeWithPostgres('tenant export / import', () => {
  let db: TestDatabase;
  let alpha: SeededTenant;
  let beta: SeededTenant;
  let alphaGraph: TenantGraph;
  let betaGraph: TenantGraph;
  const betaMarker = uniqueMarker('beta-secret');

  const countsOf = (target: TestDatabase, tenantId: string): Promise<Counts> =>
    inTenant(target.owner, tenantId, async (runner) => {
      const counts: Counts = {};
      for (const table of SNAPSHOT_TABLES) {
        const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
          n: number;
        }[];
        counts[table] = row.n;
      }
      return counts;
    });
  const exportOf = (target: TestDatabase, slug: string) => exportTenant(target.owner, slug, quiet);
  /** The snapshot without its time stamp, for comparisons. */
  const content = (snapshot: TenantSnapshot) => ({
    tenant: snapshot.tenant,
    counts: snapshot.counts,
    checksums: snapshot.checksums,
    tables: snapshot.tables,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    alpha = await createTenant(db.owner, uniqueMarker('alpha'));
    beta = await createTenant(db.owner, uniqueMarker('beta'));
    await db.owner.query(
      `UPDATE tenants SET settings = $2::jsonb, allowed_issuers = $3 WHERE id = $1`,
      [
        alpha.id,
        JSON.stringify({ theme: 'dark', nested: { list: [1, 2, 3] } }),
        ['https://idp.alpha.test'],
      ],
    );
    await db.owner.query(`INSERT INTO tenant_domains (domain, tenant) VALUES ($1, $2)`, [
      `${alpha.slug}.test`,
      alpha.id,
    ]);
    alphaGraph = await seedTenantGraph(db.runtime, alpha.id, uniqueMarker('alpha-data'));
    await seedTenantGraph(db.runtime, alpha.id, uniqueMarker('alpha-more'));
    // Awkward text survives the round trip: quotes, backslashes, new lines, non-ASCII, emoji.
    await inTenant(db.runtime, alpha.id, (runner) =>
      insertBoard(runner, alphaGraph.ownerId, 'Zoë\'s "board"\\\nline two ✓ 🎨', 'ünïcödé'),
    );
    betaGraph = await seedTenantGraph(db.runtime, beta.id, betaMarker);
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('snapshots cover exactly the tenant-owned tables of the catalog, but the derived usage', async () => {
    expect([...SNAPSHOT_TABLES, ...DERIVED_TABLES].sort()).toEqual(
      await tenantOwnedTables(db.owner),
    );
  });

  it('an export holds every row of the tenant and nothing of another tenant', async () => {
    const snapshot = await exportOf(db, alpha.slug);
    expect(snapshot.tenant).toEqual({
      id: alpha.id,
      name: alpha.slug,
      slug: alpha.slug,
      status: 'active',
      settings: { theme: 'dark', nested: { list: [1, 2, 3] } },
      allowed_issuers: ['https://idp.alpha.test'],
      claims_admit: true,
      quotas: {},
      domains: [`${alpha.slug}.test`],
    });
    const counts = await countsOf(db, alpha.id);
    expect(snapshot.counts).toEqual(counts);
    for (const table of SNAPSHOT_TABLES) {
      expect({ table, rows: snapshot.tables[table].length }).toEqual({
        table,
        rows: counts[table],
      });
      expect(counts[table]).toBeGreaterThan(0);
      for (const row of snapshot.tables[table]) expect(row.tenant_id).toBe(alpha.id);
    }
    expect(validateSnapshot(JSON.parse(JSON.stringify(snapshot)))).toBeTruthy();

    const text = JSON.stringify(snapshot);
    expect(text).toContain(alphaGraph.marker);
    expect(text).not.toContain(betaMarker);
    for (const foreign of [beta.id, beta.slug, betaGraph.boardId, betaGraph.ownerId]) {
      expect(text).not.toContain(foreign);
    }
  });

  it('export → delete → import restores equal counts, checksums and rows', async () => {
    const original = await exportOf(db, alpha.slug);
    const countsBefore = await countsOf(db, alpha.id);
    const betaBefore = await exportOf(db, beta.slug);

    await db.owner.query('DELETE FROM tenants WHERE id = $1', [alpha.id]);
    expect(await countsOf(db, alpha.id)).toEqual(
      Object.fromEntries(SNAPSHOT_TABLES.map((t) => [t, 0])),
    );

    // Through a file's round trip (JSON text), as the CLI does.
    const fromFile = validateSnapshot(JSON.parse(JSON.stringify(original)));
    const result = await importTenant(db.owner, fromFile, {}, quiet);
    expect(result).toEqual({
      tenantId: alpha.id,
      slug: alpha.slug,
      counts: original.counts,
      checksums: original.checksums,
    });
    expect(await countsOf(db, alpha.id)).toEqual(countsBefore);
    const restored = await exportOf(db, alpha.slug);
    expect(content(restored)).toEqual(content(original));
    expect(content(await exportOf(db, beta.slug))).toEqual(content(betaBefore));
    // The deletion quarantined the slug; the same tenant (same id) took it back.
    expect(
      await db.owner.query('SELECT slug FROM slug_quarantine WHERE slug = $1', [alpha.slug]),
    ).toEqual([]);
  });

  it('another tenant cannot be imported under a quarantined slug', async () => {
    const gone = await createTenant(db.owner, uniqueMarker('gone'));
    await db.owner.query('DELETE FROM tenants WHERE id = $1', [gone.id]);
    const original = await exportOf(db, alpha.slug);
    await expect(importTenant(db.owner, original, { newSlug: gone.slug }, quiet)).rejects.toThrow(
      /quarantined/,
    );
    expect(await db.owner.query('SELECT 1 FROM tenants WHERE slug = $1', [gone.slug])).toEqual([]);
  });

  it("a version 1 snapshot (before explicit admission) is restored with the upgrade migration's membership labels", async () => {
    const current = await exportOf(db, alpha.slug);
    // What version 1 wrote: no invitations, no membership sources, no issuers or domains. One
    // member's address is of the kind the retired e-mail first-label rule admitted.
    const users = current.tables.users.map(({ membership_source: _source, ...user }, index) =>
      index === 0
        ? { ...user, email: `x@${alpha.slug}.attacker.example`, tenant_role: 'member' }
        : user,
    );
    const { tenant_invitations: _invitations, ...v1Tables } = { ...current.tables, users };
    const v1Counts = Object.fromEntries(
      Object.entries(v1Tables).map(([table, rows]) => [table, rows.length]),
    );
    const v1Checksums = Object.fromEntries(
      Object.entries(v1Tables).map(([table, rows]) => [table, tableChecksum(rows)]),
    );
    const {
      allowed_issuers: _issuers,
      claims_admit: _claims,
      domains: _domains,
      ...v1Tenant
    } = current.tenant;
    const v1 = {
      ...current,
      version: 1,
      tenant: v1Tenant,
      tables: v1Tables,
      counts: v1Counts,
      checksums: v1Checksums,
    };
    const upgraded = validateSnapshot(JSON.parse(JSON.stringify(v1)));
    expect(upgraded.tables.tenant_invitations).toEqual([]);
    // Classified as the upgrade migration would: the suspect stays out until confirmed.
    expect(upgraded.tables.users.map((u) => u.membership_source)).toEqual(
      users.map((_, index) => (index === 0 ? 'email_domain' : 'legacy')),
    );
    const slug = uniqueMarker('from-v1');
    const result = await importTenant(db.owner, upgraded, { newSlug: slug }, quiet);
    expect(result.counts.users).toBe(current.counts.users);
    const sources = await inTenant(db.owner, result.tenantId, (runner) =>
      runner.query('SELECT DISTINCT membership_source FROM users'),
    );
    expect(sources).toEqual(
      expect.arrayContaining([
        { membership_source: 'legacy' },
        { membership_source: 'email_domain' },
      ]),
    );
  });

  it('imports under a new slug alongside the original, which stays unchanged', async () => {
    const original = await exportOf(db, alpha.slug);
    const copySlug = uniqueMarker('alpha-copy');
    const result = await importTenant(
      db.owner,
      original,
      { newSlug: copySlug, newName: 'Alpha (copy)' },
      quiet,
    );
    expect(result.slug).toBe(copySlug);
    expect(result.tenantId).not.toBe(alpha.id);
    expect(result.counts).toEqual(original.counts);
    expect(result.checksums).toEqual(original.checksums);

    const [row] = (await db.owner.query('SELECT name, slug, status FROM tenants WHERE id = $1', [
      result.tenantId,
    ])) as Record<string, unknown>[];
    expect(row).toEqual({ name: 'Alpha (copy)', slug: copySlug, status: 'active' });

    const copy = await exportOf(db, copySlug);
    expect(copy.counts).toEqual(original.counts);
    expect(copy.checksums).toEqual(original.checksums);
    for (const table of SNAPSHOT_TABLES) {
      for (const r of copy.tables[table]) expect(r.tenant_id).toBe(result.tenantId);
    }
    expect(content(await exportOf(db, alpha.slug))).toEqual(content(original));

    // The slug now exists: importing there again is refused and changes nothing.
    await expect(importTenant(db.owner, original, { newSlug: copySlug }, quiet)).rejects.toThrow(
      /already exists/,
    );
    await expect(importTenant(db.owner, original, {}, quiet)).rejects.toThrow(/already exists/);
    expect(await countsOf(db, result.tenantId)).toEqual(original.counts);
  });

  it('a tampered snapshot is refused by validateSnapshot', async () => {
    const original = await exportOf(db, alpha.slug);
    const tampered = (change: (copy: TenantSnapshot) => void): TenantSnapshot => {
      const copy = JSON.parse(JSON.stringify(original)) as TenantSnapshot;
      change(copy);
      return copy;
    };
    expect(() =>
      validateSnapshot(
        tampered((s) => {
          s.tables.boards[0].title = 'changed by someone';
        }),
      ),
    ).toThrow('boards: checksum mismatch');
    expect(() =>
      validateSnapshot(
        tampered((s) => {
          s.tables.users[0].tenant_role = 'admin-ish';
        }),
      ),
    ).toThrow('users: checksum mismatch');
    expect(() =>
      validateSnapshot(
        tampered((s) => {
          s.tables.generations.pop();
        }),
      ),
    ).toThrow(/generations: \d+ rows but the count says \d+/);
    expect(() =>
      validateSnapshot(
        tampered((s) => {
          delete (s.tables as Partial<TenantSnapshot['tables']>).audit_events;
        }),
      ),
    ).toThrow('no audit_events table');
    expect(() =>
      validateSnapshot(
        tampered((s) => {
          s.format = 'something-else' as TenantSnapshot['format'];
        }),
      ),
    ).toThrow('not a boards-tenant-export document');
    expect(() =>
      validateSnapshot(
        tampered((s) => {
          s.version = 99;
        }),
      ),
    ).toThrow('unsupported snapshot version 99');
    expect(() => validateSnapshot(null)).toThrow();
  });

  it('an import whose rows do not match the checksums is rolled back entirely', async () => {
    const original = await exportOf(db, alpha.slug);
    const forged = JSON.parse(JSON.stringify(original)) as TenantSnapshot;
    forged.tables.boards[0].title = 'forged';
    const slug = uniqueMarker('forged');
    await expect(importTenant(db.owner, forged, { newSlug: slug }, quiet)).rejects.toThrow(
      /boards: restored rows do not match the snapshot/,
    );
    expect(await db.owner.query('SELECT 1 FROM tenants WHERE slug = $1', [slug])).toEqual([]);
  });

  it('imports into a fresh empty database with equal counts and checksums', async () => {
    const original = await exportOf(db, alpha.slug);
    const fresh = await createTestDatabase();
    try {
      expect(await fresh.owner.query('SELECT count(*)::int AS n FROM tenants')).toEqual([{ n: 0 }]);
      const result = await importTenant(fresh.owner, validateSnapshot(original), {}, quiet);
      expect(result).toEqual({
        tenantId: alpha.id,
        slug: alpha.slug,
        counts: original.counts,
        checksums: original.checksums,
      });
      expect(await countsOf(fresh, alpha.id)).toEqual(original.counts);
      expect(content(await exportOf(fresh, alpha.slug))).toEqual(content(original));
      // The runtime role of the fresh database reads the restored rows through RLS.
      const boards = await inTenant(fresh.runtime, alpha.id, (runner) =>
        runner.query('SELECT id FROM boards'),
      );
      expect(boards).toHaveLength(original.counts.boards);
    } finally {
      await fresh.drop();
    }
  });
});
