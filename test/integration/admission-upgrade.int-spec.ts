import { MigrationRunner } from 'src/core/database/migration-runner';
import { listMemberships } from 'src/modules/tenants/cli/tenant-memberships';
import { legacyFirstLabelSlug } from 'migrations/1765065600000-explicit-admission';
import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The migration path of explicit admission for an install that ran the e-mail first-label rule:
 * rows that existed before ExplicitAdmission1765065600000 are labelled (system, registration,
 * email_domain for what the retired rule could have admitted, legacy for the rest), and
 * `boards tenant memberships --source email_domain` lists the suspects and can confirm them.
 */

const quiet = (): void => undefined;

describe('upgrading an install to explicit admission', () => {
  let db: TestDatabase;
  let acme: { id: string; slug: string };
  let globex: { id: string; slug: string };

  beforeAll(async () => {
    db = await createTestDatabase();
    const runner = new MigrationRunner(db.owner, db.runtimeRole);
    // Back to the schema before explicit admission, with data written under the old rules.
    expect(await runner.down()).toBe('TenantDatabases1765411200000');
    expect(await runner.down()).toBe('Fairness1765238400000');
    expect(await runner.down()).toBe('RegistryWriteFunctions1765152000000');
    expect(await runner.down()).toBe('ExplicitAdmission1765065600000');
    acme = await createTenant(db.owner, uniqueMarker('acme'));
    globex = await createTenant(db.owner, uniqueMarker('globex'));
    await db.owner.query(`UPDATE tenants SET registered_by = 'jwt:founder' WHERE id = $1`, [
      acme.id,
    ]);
    const users: [string, string, string, string | null, string][] = [
      // tenant, provider, subject, e-mail, role
      [acme.id, 'jwt', 'founder', `founder@${acme.slug}.example`, 'admin'],
      [acme.id, 'system', 'sample-data', null, 'member'],
      [acme.id, 'jwt', 'lookalike', `x@${acme.slug}.attacker.example`, 'member'],
      [acme.id, 'jwt', 'folded', `x@${acme.slug.toUpperCase()}.co`, 'member'],
      [acme.id, 'jwt', 'colleague', 'colleague@partner.example', 'member'],
      [acme.id, 'jwt', 'gmail-user', 'someone@gmail.com', 'member'],
      [acme.id, 'jwt', 'first-admin', `boss@${acme.slug}.example`, 'admin'],
      [globex.id, 'jwt', 'elsewhere', `x@${acme.slug}.example`, 'member'],
    ];
    for (const [tenantId, provider, subject, email, role] of users) {
      await inTenant(db.owner, tenantId, (tx) =>
        tx.query(
          `INSERT INTO users (auth_provider, auth_subject, email, tenant_role) VALUES ($1, $2, $3, $4)`,
          [provider, subject, email, role],
        ),
      );
    }
    expect(await runner.up()).toEqual([
      'ExplicitAdmission1765065600000',
      'RegistryWriteFunctions1765152000000',
      'Fairness1765238400000',
      'TenantDatabases1765411200000',
    ]);
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  const sources = (tenantId: string) =>
    inTenant(db.owner, tenantId, async (tx) => {
      const rows = (await tx.query(
        'SELECT auth_subject, membership_source FROM users ORDER BY auth_subject',
      )) as { auth_subject: string; membership_source: string }[];
      return Object.fromEntries(rows.map((r) => [r.auth_subject, r.membership_source]));
    });

  it('labels the rows that existed before it', async () => {
    expect(await sources(acme.id)).toEqual({
      colleague: 'legacy',
      'first-admin': 'legacy',
      folded: 'email_domain',
      founder: 'registration',
      'gmail-user': 'legacy',
      lookalike: 'email_domain',
      'sample-data': 'system',
    });
    // The first label names acme, but the row is in globex: the rule never admitted it there.
    expect(await sources(globex.id)).toEqual({ elsewhere: 'legacy' });
  });

  it('rows written without a source afterwards follow the claim (the most restrictive kind)', async () => {
    await inTenant(db.owner, globex.id, (tx) =>
      tx.query(`INSERT INTO users (auth_provider, auth_subject) VALUES ('jwt', 'later')`),
    );
    expect((await sources(globex.id)).later).toBe('claim');
  });

  it('the retired rule, frozen in the migration, folds as it did', () => {
    expect(legacyFirstLabelSlug('x@ACME.co')).toBe('acme');
    expect(legacyFirstLabelSlug('x@ácme.example')).toBe('acme');
    expect(legacyFirstLabelSlug('x@gmail.com')).toBeUndefined();
    expect(legacyFirstLabelSlug('x@localhost')).toBeUndefined();
    expect(legacyFirstLabelSlug(null)).toBeUndefined();
  });

  it('`tenant memberships --source email_domain` lists the suspects, and --confirm keeps them as legacy', async () => {
    const listed = await listMemberships(
      db.owner,
      { source: 'email_domain', confirm: false },
      quiet,
    );
    expect(listed.map((row) => [row.tenant, row.auth_subject]).sort()).toEqual([
      [acme.slug, 'folded'],
      [acme.slug, 'lookalike'],
    ]);
    expect(listed[0]).toMatchObject({
      membership_source: 'email_domain',
      tenant_role: 'member',
      joined_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    await expect(
      listMemberships(db.owner, { source: 'legacy', confirm: true }, quiet),
    ).rejects.toThrow('--confirm applies to --source email_domain only');
    await expect(
      listMemberships(
        db.owner,
        { source: 'email_domain', tenantSlug: 'nowhere', confirm: false },
        quiet,
      ),
    ).rejects.toThrow('no tenant with slug "nowhere"');

    const confirmed = await listMemberships(
      db.owner,
      { source: 'email_domain', tenantSlug: acme.slug, confirm: true },
      quiet,
    );
    expect(confirmed).toHaveLength(2);
    expect(
      await listMemberships(db.owner, { source: 'email_domain', confirm: false }, quiet),
    ).toEqual([]);
    expect(await sources(acme.id)).toMatchObject({ folded: 'legacy', lookalike: 'legacy' });
    const audited = (await inTenant(db.owner, acme.id, (tx) =>
      tx.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE action = 'tenant.member.confirm'`,
      ),
    )) as { n: number }[];
    expect(audited).toEqual([{ n: 2 }]);
  });
});
