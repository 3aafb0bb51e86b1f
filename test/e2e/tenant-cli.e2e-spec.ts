import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSnapshot, type TenantSnapshot } from 'src/modules/tenants/cli/tenant-snapshot';
import { createTenant, inTenant, seedTenantGraph, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { cleanEnv, ensureBuilt, runCli, cliJson, expectExit } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The compiled `boards tenant …` commands against the suite's own database (DESIGN.md §5):
 * create (table and JSON), list, approve/suspend/activate by slug or id, export to stdout and to a
 * file, import under a new slug — each with its exit code, a clean stdout (tables or one JSON
 * document) and notes on stderr.
 */

interface TenantJson {
  id: string;
  name: string;
  slug: string;
  status: string;
  settings: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describeWithPostgres('boards tenant … (compiled CLI)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let workDir: string;

  const boards = (...args: string[]) => runCli(['tenant', ...args], { env, timeoutMs: 30_000 });
  const statusOf = async (slug: string): Promise<string | undefined> => {
    const rows = (await db.owner.query('SELECT status FROM tenants WHERE slug = $1', [slug])) as {
      status: string;
    }[];
    return rows[0]?.status;
  };
  const countIn = (tenantId: string, table: string): Promise<number> =>
    inTenant(db.owner, tenantId, async (runner) => {
      const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[];
      return row.n;
    });

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase();
    workDir = mkdtempSync(join(tmpdir(), 'boards-tenant-cli-'));
    env = cleanEnv({
      ...db.env,
      BOARDS_ENVIRONMENT: 'test',
      BOARDS_LOG_LEVEL: 'silent',
      BOARDS_MULTI_TENANT_MODE: 'true',
    });
  }, 200_000);

  afterAll(async () => {
    await db?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('tenant create prints a table, or one JSON document, and exits 0', async () => {
    const tableSlug = uniqueMarker('cli-table');
    const marker = uniqueMarker('Cli Json');
    const [asTable, asJson, withSample] = await Promise.all([
      boards('create', '--name', 'Table Org', '--slug', tableSlug),
      boards('create', '--name', marker, '--output-format', 'json'),
      boards(
        'create',
        '--name',
        uniqueMarker('Sampled'),
        '--sample-data',
        '--output-format',
        'json',
      ),
    ]);

    expectExit(asTable, 0);
    const lines = asTable.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0].split(/\s+/)).toEqual(['id', 'slug', 'name', 'status', 'created_at']);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines[2]).toMatch(
      new RegExp(`^[0-9a-f-]{36}\\s+${tableSlug}\\s+Table Org\\s+active\\s`),
    );
    expect(await statusOf(tableSlug)).toBe('active');

    expectExit(asJson, 0);
    const created = cliJson<TenantJson>(asJson);
    expect(created).toEqual({
      id: expect.stringMatching(UUID),
      name: marker,
      slug: marker.toLowerCase().replace(/ /g, '-'),
      status: 'active',
      settings: {},
      allowed_issuers: [],
      claims_admit: true,
      quotas: {},
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await statusOf(created.slug)).toBe('active');

    expectExit(withSample, 0);
    const sampled = cliJson<TenantJson>(withSample);
    expect(await countIn(sampled.id, 'boards')).toBeGreaterThan(0);
    expect(await countIn(sampled.id, 'generations')).toBeGreaterThan(0);
  });

  it('tenant create with a taken slug or without a name exits non-zero with the reason on stderr', async () => {
    const { slug } = await createTenant(db.owner, uniqueMarker('cli-taken'));
    const [taken, missingName] = await Promise.all([
      boards('create', '--name', 'Again', '--slug', slug, '--output-format', 'json'),
      boards('create', '--slug', uniqueMarker('nameless')),
    ]);
    expectExit(taken, 1);
    expect(taken.stdout).toBe('');
    expect(taken.stderr).toContain(`A tenant with slug "${slug}" already exists.`);
    expect(missingName.code).not.toBe(0);
    expect(missingName.stderr).toContain('--name');
  });

  it('tenant create applies the API rules to slug and name (not a database error)', async () => {
    const [badSlug, longName] = await Promise.all([
      boards('create', '--name', 'Bad', '--slug', 'Not A Slug'),
      boards('create', '--name', 'n'.repeat(256), '--slug', uniqueMarker('long-name')),
    ]);
    for (const result of [badSlug, longName]) {
      expectExit(result, 1);
      expect(result.stdout).toBe('');
      // The rule the API states, never driver text such as "violates check constraint".
      expect(result.stderr).not.toMatch(/violates|character varying/);
    }
    expect(badSlug.stderr).toContain('slug must be lowercase letters, digits and inner hyphens');
    expect(longName.stderr).toMatch(/name must be (shorter|longer)|255/);
  });

  it('tenant list prints every tenant (table and JSON) and filters by status', async () => {
    const suspended = await createTenant(db.owner, uniqueMarker('cli-listed'));
    await db.owner.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [suspended.id]);
    const [asTable, asJson, filtered] = await Promise.all([
      boards('list'),
      boards('list', '--output-format', 'json'),
      boards('list', '--status', 'suspended', '--output-format', 'json'),
    ]);
    const stored = (await db.owner.query('SELECT id, slug, status FROM tenants')) as {
      id: string;
      slug: string;
      status: string;
    }[];

    expectExit(asTable, 0);
    const rows = asTable.stdout.trimEnd().split('\n').slice(2);
    expect(rows).toHaveLength(stored.length);
    for (const tenant of stored) expect(asTable.stdout).toContain(tenant.slug);

    expectExit(asJson, 0);
    const listed = cliJson<TenantJson[]>(asJson);
    expect(listed.map((t) => t.id).sort()).toEqual(stored.map((t) => t.id).sort());

    expectExit(filtered, 0);
    const onlySuspended = cliJson<TenantJson[]>(filtered);
    expect(onlySuspended.map((t) => t.id).sort()).toEqual(
      stored
        .filter((t) => t.status === 'suspended')
        .map((t) => t.id)
        .sort(),
    );
    expect(onlySuspended.map((t) => t.id)).toContain(suspended.id);
  });

  it('approve, suspend and activate by slug (or id) with exit codes for invalid transitions', async () => {
    const pending = await createTenant(db.owner, uniqueMarker('cli-pending'));
    await db.owner.query(`UPDATE tenants SET status = 'pending_approval' WHERE id = $1`, [
      pending.id,
    ]);

    const [approved, unknown] = await Promise.all([
      boards('approve', pending.slug, '--output-format', 'json'),
      boards('suspend', 'no-such-tenant'),
    ]);
    expectExit(unknown, 1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('Tenant not found.');
    expectExit(approved, 0);
    expect(cliJson<TenantJson>(approved)).toMatchObject({ id: pending.id, status: 'active' });
    expect(await statusOf(pending.slug)).toBe('active');

    const again = await boards('approve', pending.slug);
    expectExit(again, 1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('A tenant that is active cannot be approved.');

    const suspended = await boards('suspend', pending.slug);
    expectExit(suspended, 0);
    expect(suspended.stdout).toMatch(new RegExp(`${pending.slug}\\s+\\S+\\s+suspended`));
    expect(await statusOf(pending.slug)).toBe('suspended');

    const activated = await boards('activate', pending.id, '--output-format', 'json');
    expectExit(activated, 0);
    expect(cliJson<TenantJson>(activated).status).toBe('active');
    expect(await statusOf(pending.slug)).toBe('active');
  });

  it('export --slug S > file, then import --file F --slug new: equal counts and checksums', async () => {
    const source = await createTenant(db.owner, uniqueMarker('cli-source'));
    const other = await createTenant(db.owner, uniqueMarker('cli-other'));
    const graph = await seedTenantGraph(db.runtime, source.id, uniqueMarker('cli-mark'));
    const otherGraph = await seedTenantGraph(db.runtime, other.id, uniqueMarker('cli-foreign'));
    const outputFile = join(workDir, 'export-output.json');

    const [toStdout, toFile] = await Promise.all([
      boards('export', '--slug', source.slug),
      boards('export', '--slug', source.slug, '--output', outputFile),
    ]);
    expectExit(toStdout, 0);
    expect(toStdout.stderr).toContain(`exporting tenant ${source.slug}`);
    const snapshot = validateSnapshot(JSON.parse(toStdout.stdout)) as TenantSnapshot;
    expect(snapshot.tenant).toMatchObject({ id: source.id, slug: source.slug });
    expect(toStdout.stdout).toContain(graph.marker);
    expect(toStdout.stdout).not.toContain(otherGraph.marker);
    expectExit(toFile, 0);
    expect(toFile.stdout).toBe('');
    expect(toFile.stderr).toContain(`to ${outputFile}`);
    expect(validateSnapshot(JSON.parse(readFileSync(outputFile, 'utf8'))).counts).toEqual(
      snapshot.counts,
    );

    // What a shell redirect would have written.
    const file = join(workDir, 'export.json');
    writeFileSync(file, toStdout.stdout);
    const newSlug = uniqueMarker('cli-restored');
    const secondSlug = uniqueMarker('cli-restored');
    const [imported, asTable] = await Promise.all([
      boards('import', '--file', file, '--slug', newSlug, '--output-format', 'json'),
      boards('import', '--file', file, '--slug', secondSlug),
    ]);
    expectExit(imported, 0);
    const result = cliJson<{
      tenant_id: string;
      slug: string;
      counts: Record<string, number>;
      checksums: Record<string, string>;
    }>(imported);
    expect(result).toEqual({
      tenant_id: expect.stringMatching(UUID),
      slug: newSlug,
      counts: snapshot.counts,
      checksums: snapshot.checksums,
    });
    expect(result.tenant_id).not.toBe(source.id);
    expect(imported.stderr).toContain('counts and checksums match the snapshot');
    for (const table of Object.keys(snapshot.counts)) {
      expect(await countIn(result.tenant_id, table)).toBe(
        snapshot.counts[table as keyof typeof snapshot.counts],
      );
    }
    expect(await statusOf(source.slug)).toBe('active');

    // The table output lists each table with its rows.
    expectExit(asTable, 0);
    expect(asTable.stdout.split('\n')[0].split(/\s+/)).toEqual(['table', 'rows', 'checksum']);
    expect(asTable.stdout).toMatch(/\nboards\s+1\s+[0-9a-f]{16}\n/);
  });

  it('import refuses a taken slug and a tampered file with exit 1, importing nothing', async () => {
    const source = await createTenant(db.owner, uniqueMarker('cli-tamper'));
    await seedTenantGraph(db.runtime, source.id, uniqueMarker('cli-tamper-mark'));
    const exported = await boards('export', '--slug', source.slug);
    expectExit(exported, 0);
    const file = join(workDir, 'tamper.json');
    writeFileSync(file, exported.stdout);

    const document = JSON.parse(exported.stdout) as TenantSnapshot;
    document.tables.boards[0].title = 'tampered';
    const tamperedFile = join(workDir, 'tampered.json');
    writeFileSync(tamperedFile, JSON.stringify(document));
    const newSlug = uniqueMarker('cli-never');
    const [sameSlug, tampered, notJson] = await Promise.all([
      boards('import', '--file', file),
      boards('import', '--file', tamperedFile, '--slug', newSlug),
      boards('import', '--file', join(workDir, 'missing.json'), '--slug', newSlug),
    ]);
    expectExit(sameSlug, 1);
    expect(sameSlug.stdout).toBe('');
    expect(sameSlug.stderr).toContain('already exists');
    expectExit(tampered, 1);
    expect(tampered.stdout).toBe('');
    expect(tampered.stderr).toContain('boards: checksum mismatch');
    expectExit(notJson, 1);
    expect(await statusOf(newSlug)).toBeUndefined();
  });
});
