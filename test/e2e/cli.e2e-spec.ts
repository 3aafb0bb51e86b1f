import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATION_NAMES } from 'migrations/index';
import { MigrationRunner } from 'src/core/database/migration-runner';
import { hasPostgres } from 'test/support/environment';
import { cleanEnv, ensureBuilt, runCli, cliJson, expectExit } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The compiled `boards migrate` and `boards db check` commands against a database whose schema
 * is not applied yet: clean JSON on stdout, progress on stderr, exit codes an operator can script.
 * On a real server the database is a fresh test database with its migration reverted; without one,
 * a fresh embedded data folder (the CLI is another process and cannot share an in-memory PGlite).
 */

interface MigrationStatus {
  name: string;
  applied: boolean;
}
interface DbCheck {
  database: string;
  runtime_role: string;
  isolation_status: 'ok' | 'degraded';
  problems: string[];
  pending_migrations: string[];
}

describe('boards migrate / db check (compiled CLI)', () => {
  const embedded = !hasPostgres();
  let db: TestDatabase | undefined;
  let dataDir: string | undefined;
  let env: Record<string, string>;

  const boards = (...args: string[]) => runCli(args, { env, timeoutMs: 45_000 });

  beforeAll(async () => {
    await ensureBuilt();
    let target: Record<string, string>;
    if (embedded) {
      dataDir = mkdtempSync(join(tmpdir(), 'boards-cli-'));
      target = { BOARDS_EMBEDDED_DATA_DIR: join(dataDir, 'pgdata') };
    } else {
      db = await createTestDatabase();
      // Back to an empty schema: every migration reverted, newest first.
      const runner = new MigrationRunner(db.owner, db.runtimeRole);
      const reverted: string[] = [];
      for (let name = await runner.down(); name; name = await runner.down()) reverted.push(name);
      expect(reverted).toEqual([...MIGRATION_NAMES].reverse());
      target = db.env;
    }
    env = cleanEnv({ ...target, BOARDS_ENVIRONMENT: 'test', BOARDS_LOG_LEVEL: 'silent' });
  }, 200_000);

  afterAll(async () => {
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrate status lists the pending migration as JSON and exits 1', async () => {
    const status = await boards('migrate', 'status', '--output-format', 'json');
    expect(status.stderr).toBe('');
    const migrations = cliJson<MigrationStatus[]>(status);
    expect(migrations).toEqual(MIGRATION_NAMES.map((name) => ({ name, applied: false })));
    expectExit(status, 1);
  });

  it('migrate up applies it with progress on stderr only, then status says applied', async () => {
    const up = await boards('migrate', 'up');
    expectExit(up, 0);
    expect(up.stdout).toBe('');
    expect(up.stderr).toContain(`applied: ${MIGRATION_NAMES.join(', ')}`);

    const again = await boards('migrate', 'up');
    expectExit(again, 0);
    expect(again.stderr).toContain('nothing to apply');

    const status = await boards('migrate', 'status', '--output-format', 'json');
    expect(cliJson<MigrationStatus[]>(status)).toEqual(
      MIGRATION_NAMES.map((name) => ({ name, applied: true })),
    );
    expectExit(status, 0);
  });

  it('db check reports the isolation configuration as JSON', async () => {
    const check = await boards('db', 'check', '--output-format', 'json');
    const report = cliJson<DbCheck>(check);
    expect(report.pending_migrations).toEqual([]);
    if (embedded) {
      // The embedded session logs in as superuser and only switches to the runtime role.
      expect(report).toMatchObject({
        database: 'embedded',
        runtime_role: 'boards_app',
        isolation_status: 'degraded',
      });
      expect(report.problems).toEqual([expect.stringContaining('superuser')]);
      expectExit(check, 1);
    } else {
      expect(report).toEqual({
        database: 'postgresql',
        runtime_role: db?.runtimeRole,
        isolation_status: 'ok',
        problems: [],
        pending_migrations: [],
        // The test database got ILIKE marked leakproof, as the install's superuser does.
        search_uses_indexes: true,
      });
      expectExit(check, 0);
    }
  });

  it('migrate down reverts the newest migration, and db check then exits 1 naming it as pending', async () => {
    const down = await boards('migrate', 'down');
    expectExit(down, 0);
    expect(down.stderr).toContain(`reverted: ${MIGRATION_NAMES[MIGRATION_NAMES.length - 1]}`);

    const check = await boards('db', 'check', '--output-format', 'json');
    expectExit(check, 1);
    const report = cliJson<DbCheck>(check);
    expect(report.pending_migrations).toEqual([MIGRATION_NAMES[MIGRATION_NAMES.length - 1]]);
    // The older migrations still stand, so the isolation layers do too.
    expect(report.isolation_status).toBe(embedded ? 'degraded' : 'ok');
  });
});
