import { IsolationInspector } from 'src/core/database/isolation-inspector';
import { TenantCache, userKeyDigest } from 'src/core/cache/tenant-cache';
import { KNOWN_TENANT_TABLES, tenantOwnedTables } from 'test/factories/catalog';
import {
  createTenant,
  inTenant,
  seedUser,
  uniqueMarker,
  type SeededTenant,
} from 'test/factories/seed';
import { SQLSTATE, sqlFailure } from 'test/factories/sql-error';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The `user_changes` log (migration UserChangeLog1764806400000) that lets every serving process
 * keep users cached for minutes: a trigger on `users` appends the SHA-256 of the changed user's
 * cache key for every real update and every delete, whoever makes it; the runtime role reads the
 * digests and nothing more; the log carries no tenant data and prunes itself.
 */
describe('user change log', () => {
  let db: TestDatabase;
  let tenant: SeededTenant;

  const digestOf = (tenantId: string, subject: string) =>
    userKeyDigest(TenantCache.userKey(tenantId, 'test', subject));

  /** The log entries newer than `after`, oldest first. */
  async function entriesAfter(after: number): Promise<string[]> {
    const rows = (await db.runtime.query(
      'SELECT user_key FROM user_changes WHERE id > $1 ORDER BY id',
      [after],
    )) as { user_key: string }[];
    return rows.map((r) => r.user_key.trim());
  }

  async function newestId(): Promise<number> {
    const [row] = (await db.runtime.query(
      'SELECT coalesce(max(id), 0)::int AS id FROM user_changes',
    )) as { id: number }[];
    return row.id;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    tenant = await createTenant(db.owner, uniqueMarker('changes'));
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('a new user is not logged; a role change by the runtime role in its tenant is, as the digest of its cache key', async () => {
    const subject = uniqueMarker('promoted');
    const before = await newestId();
    await seedUser(db.runtime, tenant.id, subject);
    expect(await entriesAfter(before)).toEqual([]);

    await inTenant(db.runtime, tenant.id, (runner) =>
      runner.query(`UPDATE users SET tenant_role = 'admin' WHERE auth_subject = $1`, [subject]),
    );
    const logged = await entriesAfter(before);
    expect(logged).toEqual([digestOf(tenant.id, subject)]);
    expect(logged[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an update that changes nothing is not logged', async () => {
    const subject = uniqueMarker('same');
    await seedUser(db.runtime, tenant.id, subject);
    const before = await newestId();
    await inTenant(db.runtime, tenant.id, (runner) =>
      runner.query(`UPDATE users SET tenant_role = tenant_role WHERE auth_subject = $1`, [subject]),
    );
    expect(await entriesAfter(before)).toEqual([]);
  });

  it('changes made outside the API (owner SQL) and deletes are logged too, one entry per row', async () => {
    const first = uniqueMarker('edited');
    const second = uniqueMarker('removed');
    await seedUser(db.runtime, tenant.id, first);
    await seedUser(db.runtime, tenant.id, second);
    const before = await newestId();
    // As the table owner (an operator's SQL session; FORCE RLS still asks it for a tenant).
    await inTenant(db.owner, tenant.id, async (runner) => {
      await runner.query(`UPDATE users SET display_name = 'Renamed' WHERE auth_subject = $1`, [
        first,
      ]);
      await runner.query(`DELETE FROM users WHERE auth_subject = $1`, [second]);
    });
    expect(await entriesAfter(before)).toEqual([
      digestOf(tenant.id, first),
      digestOf(tenant.id, second),
    ]);
  });

  it('deleting a tenant logs every one of its users (the cascade fires the trigger)', async () => {
    const doomed = await createTenant(db.owner, uniqueMarker('doomed'));
    const subjects = [uniqueMarker('a'), uniqueMarker('b')];
    for (const subject of subjects) await seedUser(db.runtime, doomed.id, subject);
    const before = await newestId();
    await db.owner.query('DELETE FROM tenants WHERE id = $1', [doomed.id]);
    expect((await entriesAfter(before)).sort()).toEqual(
      subjects.map((s) => digestOf(doomed.id, s)).sort(),
    );
  });

  it('the runtime role can read the log but not write, change or empty it', async () => {
    for (const sql of [
      `INSERT INTO user_changes (user_key) VALUES (repeat('0', 64))`,
      `UPDATE user_changes SET user_key = repeat('0', 64)`,
      'DELETE FROM user_changes',
      'TRUNCATE user_changes',
    ]) {
      const failure = await sqlFailure(db.runtime.query(sql));
      expect(failure.code).toBe(SQLSTATE.insufficientPrivilege);
    }
    expect(await newestId()).toBeGreaterThan(0);
  });

  it('entries older than an hour are pruned by the next change', async () => {
    const subject = uniqueMarker('pruning');
    await seedUser(db.runtime, tenant.id, subject);
    const setEmail = (email: string) =>
      inTenant(db.owner, tenant.id, (runner) =>
        runner.query(`UPDATE users SET email = $1 WHERE auth_subject = $2`, [email, subject]),
      );
    await setEmail('a@example.com');
    const old = await newestId();
    await db.owner.query(
      `UPDATE user_changes SET changed_at = now() - interval '61 minutes' WHERE id <= $1`,
      [old],
    );
    await setEmail('b@example.com');
    const rows = (await db.runtime.query('SELECT id::int AS id FROM user_changes')) as {
      id: number;
    }[];
    expect(rows.map((r) => r.id)).toEqual([old + 1]);
  });

  it('records the writing transaction, so a reader can find entries that commit late', async () => {
    const subject = uniqueMarker('xact');
    await seedUser(db.runtime, tenant.id, subject);
    const before = await newestId();
    const writer = await inTenant(db.runtime, tenant.id, async (runner) => {
      await runner.query(`UPDATE users SET tenant_role = 'admin' WHERE auth_subject = $1`, [
        subject,
      ]);
      const [row] = (await runner.query('SELECT pg_current_xact_id()::text AS xact')) as {
        xact: string;
      }[];
      return row.xact;
    });
    const rows = (await db.runtime.query(
      'SELECT xact::text AS xact, user_key FROM user_changes WHERE id > $1',
      [before],
    )) as { xact: string; user_key: string }[];
    expect(rows).toEqual([{ xact: writer, user_key: digestOf(tenant.id, subject) }]);
  });

  it('a temporary table of the caller cannot stand in for the log (fixed search_path, qualified names)', async () => {
    const subject = uniqueMarker('temp');
    await seedUser(db.runtime, tenant.id, subject);
    const before = await newestId();
    const shadowed = await inTenant(db.runtime, tenant.id, async (runner) => {
      await runner.query(
        'CREATE TEMP TABLE user_changes (id bigint, xact xid8, user_key text, changed_at timestamptz) ON COMMIT DROP',
      );
      await runner.query(`UPDATE users SET display_name = 'Shadow' WHERE auth_subject = $1`, [
        subject,
      ]);
      const [row] = (await runner.query('SELECT count(*)::int AS n FROM pg_temp.user_changes')) as {
        n: number;
      }[];
      return row.n;
    });
    expect(shadowed).toBe(0);
    expect(await entriesAfter(before)).toEqual([digestOf(tenant.id, subject)]);
  });

  it('has no tenant_id, so it is no tenant-owned table, and the isolation check stays clean', async () => {
    const tables = await tenantOwnedTables(db.owner);
    expect(tables).not.toContain('user_changes');
    expect(tables).toEqual(expect.arrayContaining([...KNOWN_TENANT_TABLES]));
    const report = await new IsolationInspector(db.runtime).inspect();
    if (db.embedded) {
      expect(report.problems).toEqual([expect.stringContaining('superuser')]);
    } else {
      expect(report).toMatchObject({ status: 'ok', problems: [] });
    }
  });

  // Last: it empties users for every tenant of this database.
  it('a TRUNCATE of users logs one entry that means every user', async () => {
    const before = await newestId();
    await db.owner.query('TRUNCATE users CASCADE');
    expect(await entriesAfter(before)).toEqual(['*'.repeat(64)]);
  });
});
